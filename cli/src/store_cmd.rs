//! `tandem store …`: printing over `tandem_engine::store`.

use std::path::Path;

use tandem_engine::store::demo::{DemoConfig, DemoProgress, run_demo};
use tandem_engine::store::{CheckReport, Store};

use crate::output::{progress_bar, table, write_json};

/// `tandem store check DIR`.
pub fn check(dir: &Path, json: Option<&Path>) -> Result<(), String> {
    // Open (every page verified) and held: its lock keeps an engine from committing, and so
    // from pruning the runtime's files, while they are read.
    let store = Store::open_to_check(dir).map_err(|e| e.to_string())?;
    let report = store.report();
    // And the runtime's files beside the pages: a store whose pages all verify is still one no
    // engine resumes where its state, status files or logs are damaged.
    let runtime = tandem_engine::runtime::check::check_files(dir, report.committed_slot)
        .map_err(|e| format!("the store's pages verify, but {e}"))?;
    drop(store);
    if let Some(path) = json {
        #[derive(serde::Serialize)]
        struct Checked<'a> {
            #[serde(flatten)]
            store: &'a CheckReport,
            /// `null` for a store of accounts alone.
            runtime: &'a Option<tandem_engine::runtime::check::FilesReport>,
        }
        let checked = Checked {
            store: &report,
            runtime: &runtime,
        };
        write_json(path, &checked)?;
    }
    if json != Some(Path::new("-")) {
        print_report(&report);
        match &runtime {
            Some(r) => println!(
                "runtime files: the state of slot {}, {} status files, {} vote log records, \
                 {} VED log slots past the store's",
                r.slot, r.status_files, r.vote_log_records, r.ved_logged_slots
            ),
            None => println!("runtime files: none (a store of accounts alone)"),
        }
        println!("store OK: every page and runtime file verified");
    }
    Ok(())
}

fn print_report(report: &CheckReport) {
    println!("store {}", report.dir.display());
    match report.committed_slot {
        Some(slot) => println!("last committed slot: {slot}"),
        None => println!("last committed slot: none (empty store)"),
    }
    if let Some(slot) = report.recovered_slot {
        println!("completed the interrupted commit of slot {slot} from the write-ahead log");
    }
    let rows = report
        .regions
        .iter()
        .map(|r| {
            vec![
                r.mapping.to_string(),
                r.accounts.to_string(),
                r.pages_used.to_string(),
                r.pages_total.to_string(),
                r.file.clone(),
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &["mapping", "accounts", "pages used", "pages in file", "file"],
            rows
        )
    );
}

/// The memory `store demo` takes per generated account, rounded up: 13 KB measured (peak RSS
/// 266 MB for 20,000 accounts, 522 MB for 40,000; their data is up to 256 KiB, 10 KB on
/// average, all committed at once as the genesis slot; a Xeon guest, 2026-12-06).
const BYTES_PER_DEMO_ACCOUNT: u64 = 16 << 10;

/// `tandem store demo`.
pub fn demo(config: DemoConfig, json: Option<&Path>) -> Result<(), String> {
    let quiet = json == Some(Path::new("-"));
    // 10,000,000 accounts met the OOM killer after 27 s at 24 GB.
    crate::chain_cmd::check_memory(
        "--accounts",
        &format!("a store of {} generated accounts", config.accounts),
        " (~16 KB each, committed at once)",
        config.accounts.saturating_mul(BYTES_PER_DEMO_ACCOUNT),
    )?;
    let bar = progress_bar(quiet, 0, "{prefix:>8} [{bar:40}] {pos}/{len} {elapsed}")?;
    let mut on_progress = |p: DemoProgress| {
        if bar.prefix() != p.stage {
            bar.set_prefix(p.stage);
            bar.set_length(p.total);
        }
        bar.set_position(p.done);
    };
    let report = run_demo(&config, &mut on_progress).map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    // The report first: a table that cannot be printed (a reader gone, a full device) loses
    // no report.
    if let Some(path) = json {
        write_json(path, &report)?;
    }
    if !quiet {
        print_report(&report.store);
        let rows = vec![
            vec![
                "genesis accounts".into(),
                report.genesis_accounts.to_string(),
            ],
            vec![
                "genesis commit".into(),
                format!("{:.1} ms", report.genesis_commit_ms),
            ],
            vec!["slots after genesis".into(), report.slots.to_string()],
            vec![
                "accounts changed".into(),
                report.accounts_changed.to_string(),
            ],
            vec!["remaps rw-ved <-> rw-ued".into(), report.remaps.to_string()],
            vec![
                "mean slot commit".into(),
                format!("{:.2} ms", report.mean_slot_commit_ms),
            ],
            vec![
                "reopen (verify all pages)".into(),
                format!("{:.1} ms", report.reopen_ms),
            ],
            vec![
                "accounts verified".into(),
                report.verified_accounts.to_string(),
            ],
        ];
        println!("{}", table(&["demo", "value"], rows));
        println!(
            "check it any time with: tandem store check {}",
            config.dir.display()
        );
    }
    Ok(())
}
