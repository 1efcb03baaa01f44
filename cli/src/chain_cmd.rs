//! `tandem gen` and `tandem replay`: printing over `tandem_engine::{workload, runtime}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use serde::Serialize;
use tandem_engine::Domain;
use tandem_engine::files;
use tandem_engine::genesis::{Genesis, GenesisError};
use tandem_engine::ledger::{LedgerReader, LedgerWriter};
use tandem_engine::runtime::ved_log::VedLog;
use tandem_engine::runtime::vote_log::VoteLog;
use tandem_engine::runtime::{Backend, BlockOutcome, Runtime, TxOutcome, TxStatus};
use tandem_engine::workload::{self, WorkloadConfig, WorkloadError};

use crate::output::{progress_bar, table, write_json};

/// The genesis at `path`, or the built-in default cluster.
pub(crate) fn load_genesis(path: Option<&Path>) -> Result<Genesis, String> {
    match path {
        // The syntax and value errors say where in the file, not which file: prefixed here.
        Some(path) => Genesis::load(path).map_err(|e| match e {
            GenesisError::Syntax(_) | GenesisError::Invalid { .. } => {
                format!("genesis file {}: {e}", path.display())
            }
            e => e.to_string(),
        }),
        None => Ok(Genesis::default_cluster()),
    }
}

fn progress(len: u64, hidden: bool, what: &str) -> Result<ProgressBar, String> {
    let bar = progress_bar(
        hidden,
        len,
        "{prefix:>8} [{bar:40}] {pos}/{len} slots {elapsed}",
    )?;
    bar.set_prefix(what.to_owned());
    Ok(bar)
}

pub(crate) fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One slot's hashes, as `--json` writes them.
#[derive(Serialize)]
pub(crate) struct SlotJson {
    slot: u64,
    ved_hash: String,
    ued_hash: String,
    ved_sig_count: u64,
    ued_sig_count: u64,
    transactions: usize,
}

/// The last executed slot and its hashes.
#[derive(Serialize)]
pub(crate) struct LastSlotJson {
    pub(crate) slot: u64,
    pub(crate) ved_hash: String,
    pub(crate) ued_hash: String,
}

impl LastSlotJson {
    fn of(runtime: &Runtime) -> Self {
        LastSlotJson {
            slot: runtime.slot(),
            ved_hash: hex(&runtime.hash(Domain::Ved)),
            ued_hash: hex(&runtime.hash(Domain::Ued)),
        }
    }
}

/// One transaction, as `--json` writes it. The signature is kept as bytes and written in base58
/// only when the JSON is: `tandem run` adds each block's transactions from the engine's outcome
/// hook, on the UED's thread, where encoding every signature took 11–13 % of `make run`'s
/// samples.
#[derive(Serialize)]
pub(crate) struct TxJson {
    #[serde(serialize_with = "base58_signature")]
    signature: Option<[u8; 64]>,
    slot: u64,
    domain: Option<&'static str>,
    /// Named when written (a `String` a transaction before).
    #[serde(serialize_with = "status_name")]
    status: TxStatus,
}

/// The report of `gen` and `replay`.
#[derive(Serialize)]
pub(crate) struct ChainReport {
    pub(crate) genesis_hash: String,
    /// The slot the run started after (0: genesis; more when a store was resumed).
    resumed_after_slot: u64,
    /// Wall time of the replay's block execution (reading, executing and committing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) execution_seconds: Option<f64>,
    pub(crate) slots: Vec<SlotJson>,
    /// The hashes of the last slot the store holds after the run (also when nothing was left
    /// to execute).
    pub(crate) last: Option<LastSlotJson>,
    /// Every transaction, where the report is written as JSON ([`ChainReport::new`]).
    pub(crate) transactions: Vec<TxJson>,
    /// Statuses per domain ("VED", "UED", "none"), then per status name.
    pub(crate) status_counts: BTreeMap<&'static str, BTreeMap<String, u64>>,
    #[serde(skip)]
    lists_transactions: bool,
    #[serde(skip)]
    lists_slots: bool,
}

fn domain_name(domain: Option<Domain>) -> &'static str {
    domain.map_or("none", Domain::name)
}

impl ChainReport {
    /// The report of a run after `resumed_after_slot`; `lists_transactions` where it is
    /// written as JSON, whose `transactions` list every one. Without it the counts are all the
    /// tables need: `tandem run` and `replay` kept some 200 bytes a transaction for nothing
    /// (a 2,000-slot run of 200 transfers a slot: 85 MB more at its peak; found by black-box
    /// testing, 2026-12-07).
    pub(crate) fn new(
        genesis: &Genesis,
        resumed_after_slot: u64,
        lists_transactions: bool,
    ) -> Self {
        ChainReport {
            genesis_hash: bs58_string(&genesis.hash),
            resumed_after_slot,
            execution_seconds: None,
            slots: Vec::new(),
            last: None,
            transactions: Vec::new(),
            status_counts: BTreeMap::new(),
            lists_transactions,
            lists_slots: true,
        }
    }

    /// The report listing its `slots` only where `lists` (where it is written as JSON): a
    /// report that prints no slot table (`tandem run`'s, `gen`'s) kept some 255 bytes a slot
    /// for nothing — a long run's memory grew without end (found by a soak test, stop 71).
    pub(crate) fn listing_slots(mut self, lists: bool) -> Self {
        self.lists_slots = lists;
        self
    }

    /// Transactions added, listed in `transactions` or not: each is counted once under its
    /// domain and status.
    pub(crate) fn transaction_count(&self) -> u64 {
        self.status_counts.values().flat_map(|m| m.values()).sum()
    }

    pub(crate) fn add(&mut self, outcome: &BlockOutcome) {
        if self.lists_slots {
            self.slots.push(SlotJson {
                slot: outcome.slot,
                ved_hash: hex(&outcome.ved_hash),
                ued_hash: hex(&outcome.ued_hash),
                ved_sig_count: outcome.sig_counts.ved,
                ued_sig_count: outcome.sig_counts.ued,
                transactions: outcome.transactions.len(),
            });
        }
        for TxOutcome {
            signature,
            domain,
            status,
        } in &outcome.transactions
        {
            if self.lists_transactions {
                self.transactions.push(TxJson {
                    signature: *signature,
                    slot: outcome.slot,
                    domain: domain.map(Domain::name),
                    status: *status,
                });
            }
            *self
                .status_counts
                .entry(domain_name(*domain))
                .or_default()
                .entry(status.name())
                .or_default() += 1;
        }
    }

    pub(crate) fn print(&self, hashes: bool) {
        print!("{}", self.render(hashes));
    }

    /// The tables [`ChainReport::print`] prints, each line ended.
    pub(crate) fn render(&self, hashes: bool) -> String {
        let mut out = String::new();
        if hashes {
            let rows = self
                .slots
                .iter()
                .map(|s| {
                    vec![
                        s.slot.to_string(),
                        s.transactions.to_string(),
                        s.ved_sig_count.to_string(),
                        s.ued_sig_count.to_string(),
                        s.ved_hash.clone(),
                        s.ued_hash.clone(),
                    ]
                })
                .collect();
            let header = [
                "slot", "txs", "VED sigs", "UED sigs", "VED hash", "UED hash",
            ];
            out += &format!("{}\n", table(&header, rows));
        }
        let mut names: Vec<&String> = self.status_counts.values().flat_map(|m| m.keys()).collect();
        names.sort();
        names.dedup();
        let rows = names
            .into_iter()
            .map(|name| {
                let mut row = vec![name.clone()];
                for d in ["VED", "UED", "none"] {
                    let n = self.status_counts.get(d).and_then(|m| m.get(name));
                    row.push(n.copied().unwrap_or(0).to_string());
                }
                row
            })
            .collect();
        out += &format!("{}\n", table(&["status", "VED", "UED", "no domain"], rows));
        out
    }
}

fn bs58_string(bytes: &[u8]) -> String {
    bs58::encode(bytes).into_string()
}

/// Writes a transaction's status by its name (SPEC §2's spelling).
fn status_name<S: serde::Serializer>(status: &TxStatus, out: S) -> Result<S::Ok, S::Error> {
    out.collect_str(status)
}

/// Writes a transaction's first signature in base58 (`null` for none).
fn base58_signature<S: serde::Serializer>(
    signature: &Option<[u8; 64]>,
    out: S,
) -> Result<S::Ok, S::Error> {
    match signature {
        Some(signature) => out.serialize_str(&bs58_string(signature)),
        None => out.serialize_none(),
    }
}

/// About the memory one transaction of a generated block takes while the block is built,
/// signed and executed: 0.87 KiB measured (`tandem gen --slots 1 --transfers` 20,000 against
/// 100,000, peak RSS 29.6 against 99.2 MB, a Xeon guest, 2026-12-06), rounded up.
const BYTES_PER_GENERATED_TRANSACTION: u64 = 1024;

/// Refuses, naming `flags`, a generated block of `transactions` that the ledger format cannot
/// hold (SPEC §9 counts a block's transactions in a u32) or that would not fit the memory this
/// machine has available (`MemAvailable`, where it can be read): an error at once, not a hang
/// and the OOM killer after.
pub(crate) fn check_block_fits(flags: &str, transactions: u64) -> Result<(), String> {
    if transactions > u64::from(u32::MAX) {
        return Err(format!(
            "{flags}: {transactions} transactions a block, more than a ledger's block holds \
             (SPEC §9: at most {})",
            u32::MAX
        ));
    }
    check_memory(
        flags,
        &format!("a block of {transactions} transactions"),
        " to build and execute (~1 KiB each)",
        transactions.saturating_mul(BYTES_PER_GENERATED_TRANSACTION),
    )
}

/// Refuses, naming `flags`, `what` (taking about `needed` bytes of memory: `how`, the words
/// after "takes about N MB") where this machine has less available (`MemAvailable`, where it
/// can be read): an error at once, not the OOM killer minutes later.
pub(crate) fn check_memory(flags: &str, what: &str, how: &str, needed: u64) -> Result<(), String> {
    if let Some(available) = available_memory()
        && needed > available
    {
        return Err(format!(
            "{flags}: {what} takes about {} MB{how}, and this machine has {} MB available",
            needed >> 20,
            available >> 20
        ));
    }
    Ok(())
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Generates the workload `config` for `genesis` onto `writer` ([`write_ledger`]), `scratch`
/// its scratch directory.
fn generate_into<W: std::io::Write>(
    genesis: &Genesis,
    config: &WorkloadConfig,
    scratch: &Path,
    mut writer: LedgerWriter<W>,
    bar: &ProgressBar,
    each: &mut impl FnMut(&BlockOutcome),
) -> Result<(), String> {
    workload::generate(
        genesis,
        config,
        scratch,
        |block, outcome| {
            writer
                .append(block)
                .map_err(|e| WorkloadError::Sink(e.to_string()))?;
            each(outcome);
            Ok(())
        },
        |slot| bar.set_position(slot),
    )
    .map_err(|e| match e {
        // Named as the flag that gave it (`--mixed-pct`), not the library's field.
        WorkloadError::InvalidShare { name, value } if name.ends_with("_pct") => format!(
            "--{}: {value}: a share must be between 0 and 100 percent",
            name.replace('_', "-")
        ),
        WorkloadError::InvalidShare { value, .. } => format!(
            "--mixed-pct, --writable-program-pct, --bad-signature-pct, --unfunded-pct and \
             --remap-pct add up to {value} percent, past 100"
        ),
        e => e.to_string(),
    })?;
    writer.finish().map(drop).map_err(|e| e.to_string())
}

/// Generates the workload `config` for `genesis` into the ledger file `out`, showing the slots
/// on `bar`; hands `each` every block's outcome as it is generated. The ledger replaces `out`
/// whole once every block is written: a generation that fails (a bad share, a clock past its
/// range, a full disk) leaves the file that was there, not a shorter ledger that reads as whole.
/// A path that names a stream (`/dev/stdout`) is written where it stands.
pub(crate) fn write_ledger(
    genesis: &Genesis,
    config: &WorkloadConfig,
    out: &Path,
    bar: &ProgressBar,
    mut each: impl FnMut(&BlockOutcome),
) -> Result<(), String> {
    let per_block = (config.transfers as u64)
        .saturating_add(config.creates as u64)
        .saturating_add(genesis.validators.len() as u64);
    check_block_fits(
        &format!(
            "--transfers {} --creates {}",
            config.transfers, config.creates
        ),
        per_block,
    )?;
    let scratch = crate::interrupt::scratch_dir()?;
    // A stream (`--out /dev/stdout`, `/dev/fd/3`) is written where it stands: opened to
    // truncate, it cut what the stream held (`>> f`: the ledger over f's start).
    let stream =
        files::open_stream(out).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    match stream {
        Some(stream) => {
            let name = out.display().to_string();
            let writer = LedgerWriter::named(std::io::BufWriter::new(stream), name);
            let writer = writer.map_err(|e| e.to_string())?;
            generate_into(genesis, config, scratch.path(), writer, bar, &mut each)?;
        }
        None => files::replace(out, |partial| {
            // A ledger of gigabytes, half written: removed on Ctrl-C as on a failure.
            let _partial = crate::interrupt::remove_on_signal(partial.to_owned());
            let writer = LedgerWriter::create(partial).map_err(|e| e.to_string())?;
            generate_into(genesis, config, scratch.path(), writer, bar, &mut each)
        })?,
    }
    bar.finish_and_clear();
    Ok(())
}

/// Whether `path` is the file standard output writes to (`/dev/stdout`, or the file it is
/// redirected to). Where that cannot be told, no.
pub(crate) fn is_standard_output(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let id = |m: std::fs::Metadata| (m.dev(), m.ino());
        match (std::fs::metadata(path), std::fs::metadata("/dev/stdout")) {
            (Ok(a), Ok(b)) => id(a) == id(b),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// `tandem gen`.
pub fn generate(
    genesis_path: Option<&Path>,
    out: &Path,
    config: WorkloadConfig,
    json: Option<&Path>,
) -> Result<(), String> {
    let genesis = load_genesis(genesis_path)?;
    let quiet = json == Some(Path::new("-"));
    let bar = progress(config.slots, quiet, "gen")?;
    // The report keeps what it shows (a row per transaction); the outcomes are not kept.
    let mut report = ChainReport::new(&genesis, 0, json.is_some()).listing_slots(json.is_some());
    let mut blocks = 0u64;
    write_ledger(&genesis, &config, out, &bar, |outcome| {
        report.add(outcome);
        report.last = Some(LastSlotJson {
            slot: outcome.slot,
            ved_hash: hex(&outcome.ved_hash),
            ued_hash: hex(&outcome.ued_hash),
        });
        blocks += 1;
    })?;
    // The report first: a table that cannot be printed (a reader gone, a full device) loses
    // no report.
    if let Some(path) = json {
        write_json(path, &report)?;
    }
    if !quiet {
        let genesis_arg = genesis_path
            .map(|p| format!(" --genesis {}", shell_word(p)))
            .unwrap_or_default();
        // No "replay it with" for a stream (`/dev/stdout`, `/dev/fd/3`): it names no file the
        // ledger is in (the re-test of stop 74).
        let replay_it = match files::names_a_stream(out) {
            true => String::new(),
            false => format!(
                "replay it with: tandem replay{genesis_arg} --ledger {}",
                shell_word(out)
            ),
        };
        let summary = format!(
            "wrote {blocks} blocks, {} transactions to {}\n{}{replay_it}",
            report.transaction_count(),
            out.display(),
            report.render(false),
        );
        let summary = summary.trim_end();
        // A ledger written to standard output (`--out /dev/stdout | tandem replay --ledger
        // /dev/stdin`, or `> l.ledger`), or to any stream, has the summary beside it, not after
        // (or over) its blocks.
        if std::fs::metadata(out).is_ok_and(|m| m.is_file()) && !is_standard_output(out) {
            println!("{summary}");
        } else {
            say!("{summary}");
        }
    }
    Ok(())
}

/// The check that a ledger a store resumes from is the one it was built from: the ledger's
/// block at the store's last slot must carry the blockhash the store executed there, and the
/// transactions (their signatures, in order, as the store's status file of that slot records
/// them: a generated ledger's blockhash is its seed's and slot's, the same in two ledgers of
/// one seed and other contents). Another
/// ledger's blocks would otherwise run on a state they do not follow — every transaction
/// `BlockhashNotFound`, or (`tandem run`) a halt for a divergence that is the operator's
/// wrong path, kept in the store.
pub(crate) struct ResumeCheck<'a> {
    ledger: &'a Path,
    store: &'a Path,
    slot: u64,
    blockhash: [u8; 32],
    seen: bool,
}

impl<'a> ResumeCheck<'a> {
    /// For a store at `store` whose last executed block is `slot` with `blockhash` (slot 0:
    /// nothing executed, nothing to check), resumed from `ledger`.
    pub(crate) fn new(ledger: &'a Path, store: &'a Path, slot: u64, blockhash: [u8; 32]) -> Self {
        ResumeCheck {
            ledger,
            store,
            slot,
            blockhash,
            seen: slot == 0,
        }
    }

    /// Whether the ledger's next block, `block`, is one to execute (after the store's slot);
    /// an error where the ledger is not the store's.
    pub(crate) fn executes(
        &mut self,
        block: &tandem_engine::ledger::Block,
    ) -> Result<bool, String> {
        let slot = block.header.slot;
        // Slot 0 is genesis: a block there is no block the store executed (one at or before
        // the store's slot is skipped below), but one that breaks SPEC §4 — skipped without a
        // word before, and a ledger's first block renumbered to 0 was refused as its second's
        // parent mismatch.
        if slot == 0 {
            return Err(tandem_engine::runtime::RuntimeError::SlotNotAfterParent {
                slot,
                parent: block.header.parent_slot,
            }
            .to_string());
        }
        if slot == self.slot && !self.seen {
            if block.header.blockhash != self.blockhash {
                return Err(format!(
                    "{}: its block at slot {slot} has blockhash {}, where the store at {} \
                     executed {}: not the ledger the store was built from",
                    self.ledger.display(),
                    bs58_string(&block.header.blockhash),
                    self.store.display(),
                    bs58_string(&self.blockhash),
                ));
            }
            self.check_transactions(block)?;
            self.seen = true;
        }
        if slot <= self.slot {
            return Ok(false); // executed before the store was reopened
        }
        self.finish()?;
        Ok(true)
    }

    /// After the ledger's last block: an error where it had none at the store's last slot (a
    /// shorter ledger, or another, ending before it, executed nothing and said nothing).
    pub(crate) fn finish(&self) -> Result<(), String> {
        if self.seen {
            return Ok(());
        }
        Err(format!(
            "{}: no block at slot {}, the last the store at {} executed: not the ledger the \
             store was built from",
            self.ledger.display(),
            self.slot,
            self.store.display(),
        ))
    }
}

impl ResumeCheck<'_> {
    /// Whether `block`, at the store's last slot, holds the transactions the store executed
    /// there (where the store still has that slot's status file).
    fn check_transactions(&self, block: &tandem_engine::ledger::Block) -> Result<(), String> {
        let recorded = tandem_engine::runtime::status_index::slot_signatures(self.store, self.slot)
            .map_err(|e| e.to_string())?;
        let Some(recorded) = recorded else {
            return Ok(());
        };
        let signature = |wire: &[u8]| {
            tandem_engine::tx::Transaction::parse(wire)
                .ok()
                .and_then(|tx| tx.signatures().first().copied())
        };
        let same = block.transactions.len() == recorded.len()
            && (block.transactions.iter())
                .zip(&recorded)
                .all(|(wire, want)| signature(wire).as_ref() == Some(want));
        if same {
            return Ok(());
        }
        Err(format!(
            "{}: its block at slot {} has the blockhash the store at {} executed there, but \
             other transactions ({} where the store executed {}): not the ledger the store was \
             built from",
            self.ledger.display(),
            self.slot,
            self.store.display(),
            block.transactions.len(),
            recorded.len(),
        ))
    }
}

/// `tandem replay`.
pub fn replay(
    genesis: Option<&Path>,
    ledger: &Path,
    store: Option<&Path>,
    backend: Backend,
    ued_threads: usize,
    json: Option<&Path>,
) -> Result<(), String> {
    let genesis = load_genesis(genesis)?;
    let quiet = json == Some(Path::new("-"));
    // The ledger first: a missing or foreign one leaves no store behind (a new --store
    // directory was created, tied to this genesis, before the ledger was found missing).
    let reader = LedgerReader::open(ledger).map_err(|e| e.to_string())?;
    // And the GPU the backend names: without one, no store is created for the first block to
    // fail on.
    if backend == Backend::Gpu {
        tandem_kernels::gpu::GpuContext::shared().map_err(|e| format!("--backend gpu: {e}"))?;
    }
    let scratch;
    let _swept;
    let dir: PathBuf = match store {
        Some(dir) => {
            _swept = crate::interrupt::sweep_on_signal(dir.to_owned());
            dir.to_owned()
        }
        None => {
            scratch = crate::interrupt::scratch_dir()?;
            scratch.path().to_owned()
        }
    };
    let mut runtime = Runtime::open_with(&genesis, &dir, backend).map_err(|e| e.to_string())?;
    runtime.set_ued_threads(ued_threads);
    let resumed = runtime.slot();
    let mut resume = ResumeCheck::new(ledger, &dir, resumed, runtime.last_blockhash());
    // The ledger's length in blocks is not known before it is read: a count, not a bar.
    let bar = crate::output::spinner(
        quiet,
        "  replay {spinner} {pos} blocks executed, the last slot {msg} {elapsed}",
    )?;
    let mut report = ChainReport::new(&genesis, resumed, json.is_some());
    let started = std::time::Instant::now();
    let mut log_discarded = store.is_none();
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
        if !log_discarded {
            // The confirmations of the slots a stopped `tandem run` had executed ahead: they
            // stood for its own blocks of those slots, not this run's. First, as the one that
            // reads a file which can refuse the store (`agreement.idx`): a refused replay drops
            // nothing (the log went first, and a damaged index then refused the replay).
            tandem_engine::runtime::status_index::forget_confirmations_after(&dir, resumed)
                .map_err(|e| e.to_string())?;
            // Then the VED log it left ahead of the store: this run moves the store on without
            // it (an engine opening the store executes the VED again).
            let segments = VedLog::discard(&dir).map_err(|e| e.to_string())?;
            if segments > 0 && !quiet {
                say!(
                    "  the VED log of a stopped `tandem run` ({segments} segment file(s)) \
                     dropped: this replay executes the VED itself"
                );
            }
            log_discarded = true;
        }
        // A block refused is named by its place in the ledger; the store's or a file's
        // failure is not the block's.
        let outcome = runtime.execute_block(&block).map_err(|e| {
            if e.is_the_blocks_fault() {
                format!("{place}: {e}")
            } else {
                e.to_string()
            }
        })?;
        report.add(&outcome);
        bar.inc(1);
        bar.set_message(block.header.slot.to_string());
    }
    bar.finish_and_clear();
    resume.finish()?;
    // The sequential runtime keeps no cluster view, but its vote log holds what the votes
    // reported: where they halt (SPEC §6), `tandem run` stops voting and `tandem status`
    // answers `Halted` for this store — said, not left for the operator to find.
    let mut agreement = tandem_engine::cluster::Agreement::new();
    let halt =
        VoteLog::replay_into(&mut agreement, &dir, 0, runtime.slot()).map_err(|e| e.to_string())?;
    if let Some(halt) = halt {
        say!(
            "tandem: warning: the votes of this ledger halt a validator: {halt} (SPEC §6): \
             `tandem run` stops voting there, and `tandem status` answers Halted for this \
             store; replay executes every block (it keeps no cluster view)"
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    report.execution_seconds = Some(seconds);
    report.last = Some(LastSlotJson::of(&runtime));
    // The report first: a table that cannot be printed (a reader gone) loses no report.
    if let Some(path) = json {
        write_json(path, &report)?;
    }
    if !quiet {
        if resumed > 0 {
            println!(
                "resumed the store at {} after slot {resumed}",
                dir.display()
            );
        }
        println!("genesis hash {}", report.genesis_hash);
        report.print(true);
        let txs = report.transaction_count();
        println!(
            "executed {} blocks, {txs} transactions in {seconds:.2} s ({:.0} transactions/s, \
             commits included); last slot {} (epoch {})",
            report.slots.len(),
            crate::output::per_second(txs, seconds),
            runtime.slot(),
            runtime.epoch()
        );
    }
    Ok(())
}

/// `path` as one word a shell reads back as it: as it is where it holds only letters, digits
/// and `/._-`, else in single quotes (a `'` as `'\''`), and `./` before a name starting with
/// `-`. The "replay it with" line printed a name with a space, or a leading dash, that did not
/// paste (a black-box test of paths, stop 73). A name that is not UTF-8 in `$'…'`, each byte
/// outside printable ASCII as `\xHH` (bash, zsh, ksh and POSIX.1-2024 shells read it back): it
/// was printed lossily, naming no file (stop 74).
fn shell_word(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    if std::str::from_utf8(bytes).is_err() {
        let lead = if bytes.starts_with(b"-") { "./" } else { "" };
        let escaped: String = bytes
            .iter()
            .map(|&b| match b {
                b'\\' | b'\'' => format!("\\{}", b as char),
                b' '..=b'~' => (b as char).to_string(),
                _ => format!("\\x{b:02x}"),
            })
            .collect();
        return format!("$'{lead}{escaped}'");
    }
    let text = path.to_string_lossy();
    let text = match text.starts_with('-') {
        true => format!("./{text}"),
        false => text.into_owned(),
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text;
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use tandem_engine::Domain;
    use tandem_engine::genesis::Genesis;
    use tandem_engine::runtime::{BlockOutcome, TxOutcome, TxStatus};

    use super::{ChainReport, shell_word};
    use std::path::Path;

    #[test]
    fn a_path_in_a_printed_command_is_one_shell_word() {
        for (path, word) in [
            ("target/l.ledger", "target/l.ledger"),
            ("my ledger.ledger", "'my ledger.ledger'"),
            ("-dash.ledger", "./-dash.ledger"),
            ("it's", "'it'\\''s'"),
        ] {
            assert_eq!(shell_word(Path::new(path)), word, "{path}");
        }
        // Not UTF-8: each byte bash reads back from `$'…'` (stop 74: printed lossily).
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"d\xff/it's l\xfe\\.ledger");
        assert_eq!(
            shell_word(Path::new(name)),
            r"$'d\xff/it\'s l\xfe\\.ledger'"
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &format!("printf %s {}", shell_word(Path::new(name)))])
            .output();
        if let Ok(out) = out {
            assert_eq!(
                out.stdout,
                name.as_bytes(),
                "bash reads back the same bytes"
            );
        }
    }

    fn outcome() -> BlockOutcome {
        let tx = |status, domain| TxOutcome {
            signature: Some([7; 64]),
            domain,
            status,
        };
        BlockOutcome {
            slot: 3,
            ved_hash: [1; 32],
            ued_hash: [2; 32],
            sig_counts: Default::default(),
            transactions: vec![
                tx(TxStatus::Success, Some(Domain::Ued)),
                tx(TxStatus::ProgramError(1), Some(Domain::Ved)),
                tx(TxStatus::InvalidSignature, None),
            ],
            votes: Vec::new(),
            accounts_changed: 0,
        }
    }

    #[test]
    fn a_report_lists_its_transactions_only_for_the_json() {
        // Without a JSON report the counts are all the tables show: `run` and `replay` kept
        // every transaction (some 200 bytes each) for the length of the run.
        let genesis = Genesis::default_cluster();
        let mut counted = ChainReport::new(&genesis, 0, false);
        let mut listed = ChainReport::new(&genesis, 0, true);
        for _ in 0..2 {
            counted.add(&outcome());
            listed.add(&outcome());
        }
        assert!(counted.transactions.is_empty());
        assert_eq!(counted.transaction_count(), 6);
        assert_eq!(counted.status_counts, listed.status_counts);
        assert_eq!(counted.render(true), listed.render(true));
        assert_eq!(listed.transaction_count(), 6);
        let json = serde_json::to_value(&listed).unwrap();
        assert_eq!(json["transactions"].as_array().unwrap().len(), 6);
        assert_eq!(json["transactions"][1]["status"], "ProgramError(1)");
        assert_eq!(json["transactions"][1]["domain"], "VED");
        assert!(json.get("transaction_count").is_none());
    }

    #[test]
    fn a_report_without_json_keeps_no_slot_it_does_not_print() {
        // `tandem run` prints no slot table: without a JSON report it kept every slot's hashes
        // (some 255 bytes a slot) for the length of the run.
        let genesis = Genesis::default_cluster();
        let mut counted = ChainReport::new(&genesis, 0, false).listing_slots(false);
        let mut listed = ChainReport::new(&genesis, 0, true).listing_slots(true);
        for _ in 0..2 {
            counted.add(&outcome());
            listed.add(&outcome());
        }
        assert!(counted.slots.is_empty());
        assert_eq!(listed.slots.len(), 2);
        assert_eq!(counted.render(false), listed.render(false));
    }
}
