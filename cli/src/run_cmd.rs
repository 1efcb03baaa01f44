//! `tandem run`: the main job. Feeds a ledger through the asynchronous engine
//! (`tandem_engine::pipeline::Engine`), shows the VED running ahead of the UED while it runs, and
//! ends with a table of what happened; `--json` writes `tandem replay`'s report plus the
//! engine's metrics, placement and backends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tandem_bench::isolation::MAX_PACE_MS;
use tandem_engine::genesis::Genesis;
use tandem_engine::ledger::LedgerReader;
use tandem_engine::pipeline::metrics::{
    MetricsSnapshot, VotePathSummary, VoteSigners, bind_metrics,
};
use tandem_engine::pipeline::{
    Backends, Engine, EngineConfig, EngineError, EngineHooks, SetOnDrop, Survey, backend_name,
};
use tandem_engine::runtime::Backend;
use tandem_engine::workload::WorkloadConfig;

use crate::chain_cmd::{ChainReport, LastSlotJson, ResumeCheck, hex, load_genesis, write_ledger};
use crate::output::{progress_bar, spinner, table, write_json};
use crate::topology_cmd::{StageJson, placement_json, placement_table, survey};

/// The built-in workload of `tandem run` with no ledger: three epochs of the default cluster
/// with enough user transfers per slot that the UED visibly lags the VED.
pub fn default_workload() -> WorkloadConfig {
    WorkloadConfig {
        slots: 96,
        transfers: 2_000,
        creates: 20,
        ..WorkloadConfig::default()
    }
}

/// What `tandem run` was asked.
pub struct RunArgs {
    /// The genesis (the default cluster when `None`).
    pub genesis: Option<PathBuf>,
    /// The ledger (the built-in workload when `None`).
    pub ledger: Option<PathBuf>,
    /// The store directory to keep (a temporary one when `None`).
    pub store: Option<PathBuf>,
    /// Threads of the UED pass.
    pub ued_threads: usize,
    /// The kernels' backend.
    pub backend: Backend,
    /// The `cores` setting.
    pub cores: Option<String>,
    /// Feed a block every this many milliseconds (as fast as possible when `None`).
    pub pace_ms: Option<u64>,
    /// Where to write the JSON report.
    pub json: Option<PathBuf>,
    /// Where to serve the metrics in the Prometheus format.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// Which kernels the engine uses, and why.
#[derive(Serialize)]
struct BackendsJson {
    /// The `--backend` asked for.
    requested: &'static str,
    /// Where signatures are verified.
    sigverify: String,
    /// Where LtHashes are computed.
    lthash: String,
    /// The GPU adapter wgpu found, if any.
    gpu_adapter: Option<String>,
}

/// `tandem run`'s JSON: `tandem replay`'s report plus the engine's.
#[derive(Serialize)]
struct RunReport {
    #[serde(flatten)]
    chain: ChainReport,
    /// The VED's own commit point when the run started (its log; at least
    /// `resumed_after_slot`, the store's).
    ved_resumed_after_slot: u64,
    /// Why the engine halted (SPEC §6), when it did: the alert's text.
    halt: Option<String>,
    /// The first slot whose UED hash diverged, when the engine halted on a divergence.
    halt_slot: Option<u64>,
    metrics: MetricsSnapshot,
    /// Each domain's transactions executed in this run per second of its wall time
    /// (`execution_seconds`): the table's rates. `metrics`' `ved_tps` and `ued_tps` are the
    /// live window's at the end, as a scrape of the metrics reads them.
    transactions_per_second: PerDomainRate,
    placement: Vec<StageJson>,
    backends: BackendsJson,
    /// Whether memory protection keys keep each domain's pass out of the other's pages.
    protection_keys: ProtectionKeysJson,
}

/// `protection_keys` of `tandem run`'s JSON.
#[derive(Serialize)]
struct ProtectionKeysJson {
    /// The store tags each domain's pages with a key of its own and confines each pass to its
    /// domain's.
    applied: bool,
    /// What applies, for people (as `tandem topology` prints it).
    summary: String,
}

/// A rate for each domain.
#[derive(Serialize)]
struct PerDomainRate {
    ved: f64,
    ued: f64,
}

impl PerDomainRate {
    /// The executed transactions of `metrics` over `seconds`.
    fn over(metrics: &MetricsSnapshot, seconds: f64) -> Self {
        PerDomainRate {
            ved: crate::output::per_second(metrics.ved_transactions, seconds),
            ued: crate::output::per_second(metrics.ued_transactions, seconds),
        }
    }
}

impl BackendsJson {
    fn of(backends: Backends) -> Self {
        BackendsJson {
            requested: backend_name(backends.requested),
            sigverify: backends.sigverify,
            lthash: backends.lthash,
            gpu_adapter: backends.gpu_adapter,
        }
    }
}

/// The running executable: its path, and its size and modification time (every build writes
/// it anew; reading its bytes to hash them cost 0.2 s of every run). Read once per process, of
/// the file running (Linux's `/proc/self/exe` follows it where a rebuild replaced the path):
/// a default ledger made again after another build removed it is this build's, never the
/// new file's at the same path.
fn this_binary() -> Result<(PathBuf, u64, std::time::SystemTime), String> {
    static ONCE: std::sync::OnceLock<(PathBuf, u64, std::time::SystemTime)> =
        std::sync::OnceLock::new();
    if let Some(binary) = ONCE.get() {
        return Ok(binary.clone());
    }
    let exe = std::env::current_exe().map_err(|e| format!("the running executable: {e}"))?;
    let meta = std::fs::metadata("/proc/self/exe")
        .or_else(|_| std::fs::metadata(&exe))
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let modified = meta
        .modified()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    Ok(ONCE.get_or_init(|| (exe, meta.len(), modified)).clone())
}

/// A short hash of `value`, for file names.
fn short_hash(value: impl std::hash::Hash) -> u64 {
    use std::hash::{DefaultHasher, Hasher};
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// Whether the ledger at `path` reads whole: `slots` blocks, each parsing.
fn whole_ledger(path: &Path, slots: u64) -> bool {
    tandem_engine::ledger::LedgerReader::open(path).is_ok_and(|reader| {
        let mut blocks = 0u64;
        for block in reader {
            if block.is_err() {
                return false;
            }
            blocks += 1;
        }
        blocks == slots
    })
}

/// The directory the default ledger is cached in: `target/tandem-run/` in a checkout (or under
/// `$CARGO_TARGET_DIR`), else the
/// user's cache (`$XDG_CACHE_HOME/tandem-run`, `~/.cache/tandem-run`), else a directory of the
/// user's own in the temporary directory (`tandem-run-<uid>`, mode 0700, refused if another
/// user owns it): never a shared, predictable place another user could plant a ledger or a
/// symbolic link in.
fn cache_dir() -> Result<PathBuf, String> {
    // Cargo's target directory where one is named (`make run` builds into it), else the
    // checkout's.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_dir())
        .unwrap_or_else(|| PathBuf::from("target"));
    if target.is_dir() {
        return Ok(target.join("tandem-run"));
    }
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(cache) = absolute("XDG_CACHE_HOME") {
        return Ok(cache.join("tandem-run"));
    }
    if let Some(home) = absolute("HOME") {
        return Ok(home.join(".cache").join("tandem-run"));
    }
    crate::output::private_dir_in(&std::env::temp_dir(), "tandem-run")
}

/// Whether the cached ledger at `path` can be used: a regular file (a symbolic link there is
/// removed, not followed — the generation would replace its target) reading whole, whose bytes
/// still give the digest written beside it ([`digest_path`]).
fn reusable(path: &Path, slots: u64) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let _ = std::fs::remove_file(path);
            false
        }
        Ok(meta) => meta.is_file() && whole_ledger(path, slots) && digest_matches(path),
        Err(_) => false,
    }
}

/// The file beside a cached ledger holding the BLAKE3 digest of its bytes, written once the
/// ledger is: a flipped bit leaves a ledger that reads whole, and its votes, reporting the
/// hashes of the blocks as generated, then halted every run on a divergence of its own making.
fn digest_path(ledger: &Path) -> PathBuf {
    ledger.with_extension("ledger.blake3")
}

/// The BLAKE3 digest of the file at `path`, in hex.
fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// Writes the ledger of `config` at `path` and its digest beside it ([`digest_path`]). Where
/// the ledger is gone before its digest is taken — another build's run, generating its own at
/// the same moment, forgot it as an earlier build's ([`forget_other_ledgers`]) — there is
/// nothing to take it of: [`open_default_ledger`] finds it gone and makes it again.
fn write_cached(
    genesis: &Genesis,
    config: &tandem_engine::workload::WorkloadConfig,
    path: &Path,
    bar: &indicatif::ProgressBar,
) -> Result<(), String> {
    write_ledger(genesis, config, path, bar, |_| {})?;
    let digest = match file_digest(path) {
        Ok(digest) => digest,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let beside = digest_path(path);
    tandem_engine::files::write_whole(&beside, format!("{digest}\n").as_bytes())
        .map_err(|e| format!("{}: {e}", beside.display()))
}

/// How many times the default ledger is made again when another build's run removes it as it
/// is made or opened (each such run removes it once, at the end of its own generation).
const DEFAULT_LEDGER_TRIES: usize = 3;

/// The built-in workload's ledger ([`default_ledger`]), open: made again where another build's
/// run removed it between its making and its opening (two builds of one binary path run at
/// once — a rebuild during `make run`'s generation — each forget the other's ledger).
pub(crate) fn open_default_ledger(
    genesis: &Genesis,
    quiet: bool,
) -> Result<(PathBuf, LedgerReader<std::io::BufReader<std::fs::File>>), String> {
    let mut tries = 0;
    loop {
        tries += 1;
        let path = default_ledger(genesis, quiet)?;
        match LedgerReader::open(&path) {
            Ok(reader) => return Ok((path, reader)),
            Err(tandem_engine::ledger::LedgerError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                if tries == DEFAULT_LEDGER_TRIES {
                    return Err(format!(
                        "the default ledger {} was removed each of the {tries} times it was \
                         made, by other builds' runs generating their own at once: run again \
                         once they are done",
                        path.display()
                    ));
                }
                if !quiet {
                    say!(
                        "the default ledger {} was removed as it was made (another build's \
                         run, generating its own at once, forgot it as an earlier build's): \
                         generating it again",
                        path.display()
                    );
                }
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Whether the ledger at `path` gives the digest written beside it.
fn digest_matches(path: &Path) -> bool {
    let written = std::fs::read_to_string(digest_path(path));
    written.is_ok_and(|d| file_digest(path).is_ok_and(|now| now == d.trim()))
}

/// The built-in workload's ledger, generated once and cached ([`cache_dir`]).
fn default_ledger(genesis: &Genesis, quiet: bool) -> Result<PathBuf, String> {
    let config = default_workload();
    let dir = cache_dir()?;
    // Everything the ledger depends on: the whole workload configuration, the genesis and the
    // tandem that generated it (its votes carry hashes this tandem's runtime computed): this
    // very binary, not its version (which stays 0.1.0 across every change to the rules, so a
    // ledger of an older build, its votes reporting the older build's hashes, halted the run).
    let binary = this_binary()?;
    let generated_by = short_hash((format!("{config:?}"), env!("CARGO_PKG_VERSION"), &binary));
    // Named first for the binary's path: each build's binary (debug, release, an installed
    // one) keeps its own, and a rebuild replaces only its own (a debug and a release run, one
    // after the other, each deleted the other's and generated it again).
    let by_path = format!("default-{:08x}-", short_hash(&binary.0) as u32);
    let fingerprint = format!(
        "{by_path}{}slots-{}transfers-seed{}-{}-{generated_by:016x}",
        config.slots,
        config.transfers,
        config.seed,
        &hex(&genesis.hash)[..12]
    );
    let path = dir.join(format!("{fingerprint}.ledger"));
    // A cached ledger is written whole and renamed into place; one that does not read whole,
    // every block of it, was damaged since, and is made again.
    let cached = path.exists();
    if reusable(&path, config.slots) {
        return Ok(path);
    }
    if cached && !quiet {
        say!(
            "the cached default ledger {} cannot be verified (cut short, its digest missing \
             — a run stopped as it was written — or its bytes no longer giving it): generating \
             it again",
            path.display()
        );
    }
    // A cache that cannot be written was named as a bare path and an OS error ("…/tandem-run:
    // Read-only file system"): said to be the cache, with the ways round it.
    let in_the_cache = |e: String| {
        format!(
            "the default workload's cache {}: {e} (give a ledger with --ledger, or run where \
             target/ or $XDG_CACHE_HOME can be written)",
            dir.display()
        )
    };
    tandem_engine::files::create_dir_all(&dir).map_err(|e| in_the_cache(e.to_string()))?;
    // Written whole and renamed into place (two runs generating at once each write their own,
    // the last rename wins).
    let bar = progress_bar(
        quiet,
        config.slots,
        "generating the default workload (once; cached) [{bar:40}] {pos}/{len} slots",
    )?;
    write_cached(genesis, &config, &path, &bar).map_err(in_the_cache)?;
    forget_other_ledgers(&dir, &path, &by_path);
    Ok(path)
}

/// Deletes the cached default ledgers named `prefix…` (the same binary path's) other than
/// `kept` — those of earlier builds: keyed on the binary, a ledger of 42 MB was left behind at
/// every rebuild — and the partial ledgers of generations whose process is gone (a run killed
/// while generating left one for good). Best effort: a ledger another process is reading stays
/// readable until it closes it, and one a live process is still writing is not touched.
fn forget_other_ledgers(dir: &Path, kept: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        // A ledger's digest file goes with it.
        let ledger_name = name.strip_suffix(".blake3").unwrap_or(&name);
        let earlier_build = ledger_name.ends_with(".ledger")
            && (name.starts_with(prefix) || legacy_cached_ledger(ledger_name));
        // (A ledger's partial file, or its digest's.)
        let abandoned = name.starts_with(".default-")
            && (name.rsplit_once(".ledger.partial-"))
                .or_else(|| name.rsplit_once(".ledger.blake3.partial-"))
                .and_then(|(_, pid)| pid.parse::<u32>().ok())
                .is_some_and(|pid| !tandem_engine::files::process_alive(pid));
        if (earlier_build && path != kept && path != digest_path(kept)) || abandoned {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Whether `name` is a cached ledger of the builds before ledgers were named for their
/// binary's path (`default-<slots>slots-…`, not `default-<8 hex digits>-…`): no build uses it.
fn legacy_cached_ledger(name: &str) -> bool {
    name.strip_prefix("default-").is_some_and(|rest| {
        let by_path = rest.len() > 9
            && rest.as_bytes()[..8].iter().all(u8::is_ascii_hexdigit)
            && rest.as_bytes()[8] == b'-';
        !by_path
    })
}

/// `tandem run`; `Ok(true)` when the engine halted (SPEC §6: the CLI exits with status 3).
pub fn run(args: RunArgs) -> Result<bool, String> {
    let quiet = args.json.as_deref() == Some(Path::new("-"));
    if args.genesis.is_some() && args.ledger.is_none() {
        return Err(
            "--genesis needs --ledger (the built-in workload is for the default cluster)".into(),
        );
    }
    // `--pace 18446744073709551615` was taken, and the second block waited for ever without a
    // word: at most `bench isolation`'s longest pace, a minute.
    if let Some(ms) = args.pace_ms
        && ms > MAX_PACE_MS
    {
        return Err(format!(
            "--pace: a pace of {ms} ms between blocks: at most {MAX_PACE_MS} ms"
        ));
    }
    let genesis = load_genesis(args.genesis.as_deref())?;
    let survey = survey(args.cores.as_deref())?;
    let backends = BackendsJson::of(
        survey
            .backends(args.backend)
            .map_err(|e| format!("--{e}"))?,
    );
    let Survey {
        topology,
        placement,
        notes,
        ..
    } = survey;
    // Bound before the ledger is read (or generated: seconds, the first time) and the store
    // made: a port in use, or one the user may not bind, fails first, nothing made.
    let listener = match args.metrics_addr {
        Some(addr) => Some(bind_metrics(addr).map_err(|e| e.to_string())?),
        None => None,
    };
    let (ledger, reader) = match &args.ledger {
        Some(path) => (
            path.clone(),
            LedgerReader::open(path).map_err(|e| e.to_string())?,
        ),
        None => open_default_ledger(&genesis, quiet)?,
    };

    let scratch;
    let _swept;
    let dir: PathBuf = match &args.store {
        Some(dir) => {
            _swept = crate::interrupt::sweep_on_signal(dir.clone());
            dir.clone()
        }
        None => {
            scratch = crate::interrupt::scratch_dir()?;
            scratch.path().to_owned()
        }
    };
    let report = Arc::new(Mutex::new(None::<ChainReport>));
    let hooks = {
        let report = Arc::clone(&report);
        EngineHooks {
            on_vote: None,
            on_outcome: Some(Box::new(move |outcome| {
                let mut report = report.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(report) = report.as_mut() {
                    report.add(outcome);
                }
            })),
            // SPEC §6's log line of the alert is the engine's (`tandem: ALERT: …` on stderr).
            on_alert: None,
        }
    };
    let placement_rows = placement_json(&placement);
    let config = EngineConfig {
        backend: args.backend,
        ued_threads: args.ued_threads,
        placement: Some(placement),
        ..EngineConfig::default()
    };
    let engine = Engine::open(&genesis, &dir, config, hooks).map_err(|e| e.to_string())?;
    let resumed = engine.resumed_slot();
    let ved_resumed_after_slot = engine.ved_resumed_slot();
    *report.lock().unwrap_or_else(PoisonError::into_inner) = Some(
        ChainReport::new(&genesis, resumed, args.json.is_some()).listing_slots(args.json.is_some()),
    );
    let _server = match listener {
        Some(listener) => {
            // The port bound (port 0 asks the system for one, which nothing else names).
            let url = format!("http://{}/metrics", listener.local_addr());
            match quiet {
                false => println!("metrics: {url}"),
                true => say!("tandem: metrics: {url}"),
            }
            let metrics = Arc::clone(engine.metrics());
            Some(listener.serve(metrics).map_err(|e| e.to_string())?)
        }
        None => None,
    };

    if !quiet {
        if resumed > 0 {
            println!(
                "resumed the store at {} after slot {resumed}",
                dir.display()
            );
        }
        println!("ledger: {}", ledger.display());
    }
    let bar = spinner(quiet, "{spinner} {elapsed} {msg}")?;
    let started = Instant::now();
    // The display: the VED's slot, the UED's, the lag and the rates, five times a second.
    let show = || {
        let m = engine.metrics().snapshot();
        bar.set_message(format!(
            "VED slot {} · UED slot {} · UED lag {} slots (max {}) · VED {:.0} tx/s · UED {:.0} tx/s",
            m.ved_slot, m.ued_slot, m.ued_lag_slots, m.max_ued_lag_slots, m.ved_tps, m.ued_tps
        ));
        bar.tick();
    };
    let fed = while_showing(display_thread(), show, Duration::from_millis(200), || {
        let resume = ResumeCheck::new(&ledger, &dir, resumed, engine.resumed_blockhash());
        feed(&engine, reader, resume, args.pace_ms)
    })?;
    let metrics = Arc::clone(engine.metrics());
    let summary = engine.finish().map_err(|e| e.to_string())?;
    let halt_slot = summary.halt.as_ref().map(|h| h.slot);
    let halted = summary.halted.clone();
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let metrics = metrics.snapshot();
    let mut chain = report
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .expect("the report is set before the run");
    chain.execution_seconds = Some(seconds);
    chain.last = Some(LastSlotJson {
        slot: summary.slot,
        ved_hash: hex(&summary.hashes.ved),
        ued_hash: hex(&summary.hashes.ued),
    });
    let report = RunReport {
        chain,
        ved_resumed_after_slot,
        halt: halted,
        halt_slot,
        transactions_per_second: PerDomainRate::over(&metrics, seconds),
        metrics,
        placement: placement_rows,
        backends,
        protection_keys: ProtectionKeysJson {
            applied: tandem_engine::store::protection::status().is_ok(),
            summary: tandem_engine::store::protection::summary(),
        },
    };
    // The report first: a table that cannot be printed (a reader gone) loses no report.
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    if !quiet {
        print(&report, &topology, &notes, fed, seconds);
    }
    Ok(report.halt.is_some())
}

/// Submits every block after the store's last (checking that the ledger is the store's), one
/// every `pace_ms` when given; returns how many.
fn feed(
    engine: &Engine,
    reader: LedgerReader<std::io::BufReader<std::fs::File>>,
    mut resume: ResumeCheck<'_>,
    pace_ms: Option<u64>,
) -> Result<u64, String> {
    let start = Instant::now();
    let mut fed = 0u64;
    let mut reader = reader;
    loop {
        let place = reader.next_block_place();
        let Some(block) = reader.next() else {
            break;
        };
        let block = block.map_err(|e| e.to_string())?;
        if !resume.executes(&block)? {
            continue;
        }
        if let Some(ms) = pace_ms {
            let due = start + Duration::from_millis(ms.saturating_mul(fed));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        engine.submit(block).map_err(|e| match e {
            // A block refused is named by its place in the ledger; a stage's failure, which a
            // later submit returns, is not this block's.
            EngineError::Rejected(_) | EngineError::Undecodable(_) => format!("{place}: {e}"),
            e => e.to_string(),
        })?;
        fed += 1;
    }
    resume.finish()?;
    Ok(fed)
}

fn ms(us: Option<u64>) -> String {
    us.map_or("-".to_owned(), |us| format!("{:.2} ms", us as f64 / 1000.0))
}

fn print(
    report: &RunReport,
    topology: &tandem_engine::pipeline::Topology,
    notes: &[String],
    fed: u64,
    seconds: f64,
) {
    let b = &report.backends;
    println!("backends: sigverify: {}; LtHash: {}", b.sigverify, b.lthash);
    println!("memory protection keys: {}", report.protection_keys.summary);
    println!("{}", placement_table(topology, &report.placement));
    for note in notes {
        println!("- {note}");
    }
    report.chain.print(false);
    let m = &report.metrics;
    let rates = &report.transactions_per_second;
    let ttv = &m.time_to_vote;
    let last = report.chain.last.as_ref();
    let rows = vec![
        vec!["blocks executed".into(), fed.to_string()],
        vec!["VED transactions".into(), m.ved_transactions.to_string()],
        vec!["UED transactions".into(), m.ued_transactions.to_string()],
        vec!["VED transactions/s".into(), format!("{:.0}", rates.ved)],
        vec!["UED transactions/s".into(), format!("{:.0}", rates.ued)],
        vec!["time-to-vote p50".into(), ms(ttv.p50_us)],
        vec!["time-to-vote p99".into(), ms(ttv.p99_us)],
        vec!["time-to-vote max".into(), ms(ttv.max_us)],
        vec![
            "the vote's path, p50 from the hand-over".into(),
            vote_path_row(&m.vote_path),
        ],
        vec![
            "max UED lag (slots)".into(),
            m.max_ued_lag_slots.to_string(),
        ],
        vec![
            "vote signatures with a table".into(),
            vote_signers_row(&m.vote_signers),
        ],
        vec![
            "halted".into(),
            halted_row(report.halt.as_deref(), report.halt_slot),
        ],
        vec![
            "epoch boundaries crossed alone".into(),
            m.boundaries_crossed_alone.to_string(),
        ],
        vec![
            "epoch-boundary waits".into(),
            format!(
                "{} ({:.1} ms in all)",
                m.boundary_waits,
                m.boundary_wait_ns as f64 / 1e6
            ),
        ],
        vec![
            "user signatures waiting for their vote".into(),
            format!(
                "{} blocks ({:.1} ms in all)",
                m.ued_yields,
                m.ued_yield_ns as f64 / 1e6
            ),
        ],
        vec!["wall time".into(), format!("{seconds:.2} s")],
        vec![
            "final slot".into(),
            last.map_or("-".into(), |l| l.slot.to_string()),
        ],
        vec![
            "final VED hash".into(),
            last.map_or("-".into(), |l| l.ved_hash.clone()),
        ],
        vec![
            "final UED hash".into(),
            last.map_or("-".into(), |l| l.ued_hash.clone()),
        ],
    ];
    println!("{}", table(&["tandem run", ""], rows));
    let stages = m
        .stages
        .iter()
        .map(|s| {
            let total = (s.busy_ns + s.idle_ns + s.blocked_ns).max(1) as f64;
            let pct = |ns: u64| format!("{:.1} %", 100.0 * ns as f64 / total);
            vec![
                s.name.clone(),
                s.items.to_string(),
                pct(s.busy_ns),
                pct(s.busy_cpu_ns),
                pct(s.idle_ns),
                pct(s.blocked_ns),
                s.max_queue_depth.to_string(),
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &[
                "stage",
                "blocks",
                "busy",
                "of it on CPU",
                "idle",
                "blocked",
                "max queue",
            ],
            stages
        )
    );
}

/// The vote path's steps at their medians ([`VotePathSummary`]), in milliseconds.
fn vote_path_row(path: &VotePathSummary) -> String {
    let steps: Vec<String> = path
        .steps()
        .iter()
        .map(|(step, s)| format!("{} {}", step.replace('_', " "), ms(s.p50_us)))
        .collect();
    steps.join(", ")
}

/// The table's cell for the VED's signer cache: how many of the VED's signatures used their
/// signer's precomputed table, how many tables it holds and how many of them were built ahead
/// of their first signature (the voters').
fn vote_signers_row(s: &VoteSigners) -> String {
    let checked = s.with_table + s.without_table;
    let share = if checked == 0 {
        "-".to_owned()
    } else {
        format!("{:.1} %", 100.0 * s.with_table as f64 / checked as f64)
    };
    format!(
        "{share} of {checked} ({} signer tables, {} built before their first vote)",
        s.tables, s.prepared
    )
}

/// The table's "halted" cell: from the halt itself, whatever its cause.
fn halted_row(halt: Option<&str>, halt_slot: Option<u64>) -> String {
    match (halt, halt_slot) {
        (None, _) => "no".into(),
        (Some(_), Some(s)) => format!("yes: the UED diverged at slot {s}"),
        // A UED that could not catch up, or a halt from before the restart whose divergence
        // the kept votes no longer show: the alert says which.
        (Some(why), None) => format!("yes: {why}"),
    }
}

/// Runs `work`, calling `show` every `every` on another thread until it ends — returns or
/// panics: a panic then goes on once the display has stopped (before 2026-12-07 the display
/// waited for a flag set after `work` returned, and a panic left the process waiting for it
/// for ever). A display whose thread (built by `display`) cannot be started is done without,
/// saying so: before stop 73 a process at its thread limit panicked there.
fn while_showing<T>(
    display: std::thread::Builder,
    show: impl Fn() + Sync,
    every: Duration,
    work: impl FnOnce() -> T,
) -> T {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let shown = display.spawn_scoped(scope, || {
            while !done.load(Ordering::Relaxed) {
                show();
                std::thread::sleep(every);
            }
        });
        if let Err(e) = shown {
            say!("tandem: warning: no progress display: its thread cannot be started: {e}");
        }
        let _done = SetOnDrop(&done);
        work()
    })
}

/// The progress display's thread.
fn display_thread() -> std::thread::Builder {
    std::thread::Builder::new().name("tandem-display".into())
}

#[cfg(test)]
mod tests {
    use super::{
        PerDomainRate, digest_path, display_thread, halted_row, reusable, while_showing,
        whole_ledger, write_cached,
    };
    use crate::output::private_dir_in;
    use std::time::Duration;

    #[test]
    fn a_rate_over_no_time_is_none() {
        // A monotonic clock standing still (libfaketime's) gave 5.7 × 10¹⁰ transactions/s
        // beside metrics saying 0 (a black-box test of clocks, stop 74).
        let metrics = tandem_engine::pipeline::metrics::MetricsSnapshot {
            ved_transactions: 57,
            ued_transactions: 297,
            ..Default::default()
        };
        let rate = PerDomainRate::over(&metrics, 0.0);
        assert_eq!((rate.ved, rate.ued), (0.0, 0.0));
        let rate = PerDomainRate::over(&metrics, 2.0);
        assert_eq!((rate.ved, rate.ued), (28.5, 148.5));
    }

    #[test]
    fn a_panic_in_the_work_beside_the_display_ends_the_display_and_goes_on() {
        // `tandem run`'s display looped until a flag set after feeding returned: a panic
        // while feeding (ingest counts on "a parser bug" panicking) left it running, and the
        // process waiting for it for ever.
        let (sender, ended) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let panicked = std::panic::catch_unwind(|| {
                while_showing(
                    display_thread(),
                    || {},
                    Duration::from_millis(1),
                    || panic!("a bug while feeding"),
                )
            });
            let _ = sender.send(panicked.is_err());
        });
        let ended = ended.recv_timeout(Duration::from_secs(60));
        assert_eq!(
            ended,
            Ok(true),
            "the panic went on once the display stopped"
        );
        let shown = || while_showing(display_thread(), || {}, Duration::from_millis(1), || 7);
        assert_eq!(shown(), 7);
    }

    #[test]
    #[cfg(target_pointer_width = "64")] // testing::unstartable_thread
    fn a_display_whose_thread_cannot_start_is_done_without() {
        // The start fails, as at a thread limit.
        let unstartable = tandem_kernels::testing::unstartable_thread();
        let every = Duration::from_millis(1);
        let shown = || panic!("the display started");
        assert_eq!(while_showing(unstartable, shown, every, || 7), 7);
    }

    #[test]
    fn a_cached_ledger_that_is_a_symbolic_link_is_removed_not_followed() {
        // Planted where the cache's name is predictable: the generation replaced the link's
        // target (a file of the user's elsewhere) with the ledger.
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"the user's own file").unwrap();
        let cached = dir.path().join("cached.ledger");
        std::os::unix::fs::symlink(&victim, &cached).unwrap();
        assert!(!reusable(&cached, 1));
        assert!(
            std::fs::symlink_metadata(&cached).is_err(),
            "the link is gone"
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"the user's own file");
    }

    #[test]
    fn the_cache_outside_a_checkout_is_this_users_alone() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let made = private_dir_in(parent.path(), "tandem-run").unwrap();
        let mode = std::fs::metadata(&made).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let again = private_dir_in(parent.path(), "tandem-run").unwrap();
        assert_eq!(again, made, "found again");
        std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = private_dir_in(parent.path(), "tandem-run").unwrap_err();
        assert!(err.contains("this user's alone"), "{err}");
    }

    /// A small workload of three slots on the default cluster, and a hidden progress bar.
    fn three_slots() -> (
        tandem_engine::genesis::Genesis,
        tandem_engine::workload::WorkloadConfig,
        indicatif::ProgressBar,
    ) {
        let config = tandem_engine::workload::WorkloadConfig {
            slots: 3,
            transfers: 5,
            ..tandem_engine::workload::WorkloadConfig::default()
        };
        let genesis = tandem_engine::genesis::Genesis::default_cluster();
        (genesis, config, indicatif::ProgressBar::hidden())
    }

    #[test]
    fn a_cached_ledger_is_used_only_whole() {
        // The cache was trusted once its first 8 bytes (the magic) read: a ledger cut at a
        // block's end ran fewer slots, one cut inside a block failed the run.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cached.ledger");
        let (genesis, config, bar) = three_slots();
        crate::chain_cmd::write_ledger(&genesis, &config, &path, &bar, |_| {}).unwrap();
        assert!(whole_ledger(&path, 3));
        assert!(!whole_ledger(&path, 4), "a slot short");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        assert!(!whole_ledger(&path, 3), "cut inside its last block");
        assert!(!whole_ledger(&dir.path().join("missing.ledger"), 3));
    }

    #[test]
    fn a_cached_ledger_whose_bytes_changed_is_not_used() {
        // A flipped bit left a ledger reading whole: every run halted on a divergence of the
        // cache's making. The digest beside it must match; without one, nothing is trusted.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cached.ledger");
        let (genesis, config, bar) = three_slots();
        write_cached(&genesis, &config, &path, &bar).unwrap();
        assert!(reusable(&path, 3));
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        assert!(whole_ledger(&path, 3), "it still reads whole");
        assert!(!reusable(&path, 3), "but is not used");
        bytes[middle] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        assert!(reusable(&path, 3));
        std::fs::remove_file(digest_path(&path)).unwrap();
        assert!(!reusable(&path, 3), "no digest beside it");
    }

    #[test]
    fn a_new_cached_ledger_forgets_the_other_builds() {
        let dir = tempfile::tempdir().unwrap();
        let name = |n: &str| dir.path().join(n);
        let live = format!(".default-aaaaaaaa-c.ledger.partial-{}", std::process::id());
        for n in [
            "default-aaaaaaaa-a.ledger",
            "default-aaaaaaaa-b.ledger",
            "default-bbbbbbbb-a.ledger",
            "default-96slots-3000transfers-seed7-0123456789ab-0123456789abcdef.ledger",
            "default-0a1b2c3d-96slots-x.ledger",
            &live,
            ".default-bbbbbbbb-d.ledger.partial-4294967295",
            "x.ledger",
        ] {
            std::fs::write(name(n), b"x").unwrap();
        }
        super::forget_other_ledgers(
            dir.path(),
            &name("default-aaaaaaaa-b.ledger"),
            "default-aaaaaaaa-",
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        // The same binary's earlier build goes, a ledger named as before binaries had their
        // own, and a partial ledger its process left; other binaries' ledgers and a live
        // generation stay.
        assert_eq!(
            left,
            [
                live.as_str(),
                "default-0a1b2c3d-96slots-x.ledger",
                "default-aaaaaaaa-b.ledger",
                "default-bbbbbbbb-a.ledger",
                "x.ledger"
            ]
        );
    }

    #[test]
    fn every_halt_shows_as_one() {
        assert_eq!(halted_row(None, None), "no");
        assert_eq!(
            halted_row(Some("UED divergence at slot 9: …"), Some(9)),
            "yes: the UED diverged at slot 9"
        );
        // It said "no" for a halt that was not a divergence the votes still show.
        let lag = "the UED lags the VED by a whole epoch at the boundary of slot 64";
        assert_eq!(halted_row(Some(lag), None), format!("yes: {lag}"));
    }
}
