//! The store suite, on a store of 100,000 accounts of 200 bytes (the criterion bench's,
//! `benches/store.rs`) created in a temporary directory below the suite's scratch directory
//! (`--out`), so the commits show that disk:
//! - [`names::STORE_LOOKUPS`], one pinned thread: 10,000 random accounts read per call through
//!   the UED's domain view;
//! - [`names::STORE_COMMITS`]: slot commits of 10,000 modified accounts each, with their
//!   fsyncs (the write-ahead log, the pages, the superblock).

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use tandem_engine::store::{SlotChanges, Store};
use tandem_engine::{Account, Domain, Pubkey};

use super::{At, Context, Figure, Recorder, Shared, samples, scaled, timed};
use crate::fixtures::{random_indices, store_with_accounts};
use crate::profile::names;

const DATA_LEN: usize = 200;

/// The store, its accounts and the next slot to commit.
struct StoreFixture {
    store: Store,
    accounts: Vec<Account>,
    slot: u64,
    _dir: tempfile::TempDir,
}

/// The filesystem type of the mount holding `path` (from /proc/mounts), where known.
pub(crate) fn filesystem_of(path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(point)
                .then(|| (point.len(), kind.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, kind)| kind)
}

/// The suite's figures.
pub(crate) fn figures<'a>(ctx: &'a Context<'a>) -> Vec<Figure<'a>> {
    let sizes = ctx.sizes();
    let scratch = &ctx.config.scratch;
    let n = sizes.store_accounts;
    let fixture: Shared<Mutex<StoreFixture>> = Shared::new();
    let build = move || {
        std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        let dir = tempfile::tempdir_in(scratch)
            .map_err(|e| format!("a temporary directory in {}: {e}", scratch.display()))?;
        // A full disk was a panic here (`bench --suite store --out` on a small file system).
        let (store, accounts) = store_with_accounts(dir.path(), n, DATA_LEN, 1).map_err(|e| {
            format!(
                "the store suite's store of {n} accounts in {}: {e}",
                scratch.display()
            )
        })?;
        let slot = store.committed_slot().map_or(0, |s| s + 1);
        Ok(Mutex::new(StoreFixture {
            store,
            accounts,
            slot,
            _dir: dir,
        }))
    };
    let where_ = move || {
        let fs = filesystem_of(scratch).unwrap_or_else(|| "filesystem unknown".into());
        format!("a store in {} ({fs})", ctx.config.disk.display())
    };
    let lookups = fixture.clone();
    vec![
        Figure::new(
            "store: lookups through a view, 1 thread",
            move |rec: &mut Recorder, phase: &mut dyn FnMut(&str)| {
                phase("filling the store");
                let fixture = lookups.get(build)?.lock().map_err(|e| e.to_string())?;
                let keys: Vec<Pubkey> = random_indices(n, sizes.store_lookups, 2)
                    .into_iter()
                    .map(|i| fixture.accounts[i].pubkey)
                    .collect();
                let store = &fixture.store;
                let runs = samples(sizes.runs, || {
                    scaled(&ctx.config.pus, 1, sizes.min_run(), |_| {
                        || {
                            let view = store.view(Domain::Ued);
                            let mut missing = None;
                            let took = timed(keys.len(), || {
                                let mut sum = 0u64;
                                for key in &keys {
                                    match view.get(key) {
                                        Ok(Some(account)) => {
                                            sum = sum.wrapping_add(account.lamports)
                                        }
                                        other => missing = Some(format!("{key:?}: {other:?}")),
                                    }
                                }
                                std::hint::black_box(sum);
                            });
                            match missing {
                                Some(why) => Err(format!("a lookup failed: {why}")),
                                None => Ok(took),
                            }
                        }
                    })
                })?;
                rec.rate(
                    names::STORE_LOOKUPS,
                    At::Threads(1),
                    "lookups/s",
                    &runs,
                    ctx.kernel_how(
                        1,
                        &format!(
                            "{} random accounts of {n} (200 bytes of data each) read per call through the UED's domain view (Store::view(Domain::Ued).get) of {}",
                            sizes.store_lookups,
                            where_()
                        ),
                    ),
                );
                Ok(())
            },
        ),
        Figure::new(
            "store: slot commits with fsync",
            move |rec: &mut Recorder, phase: &mut dyn FnMut(&str)| {
                phase("filling the store");
                let mut guard = fixture.get(build)?.lock().map_err(|e| e.to_string())?;
                let f = &mut *guard;
                let modified = sizes.store_commit_accounts.min(f.accounts.len());
                let runs = samples(sizes.runs, || {
                    super::rate_over(sizes.min_run(), || {
                        let mut changes = SlotChanges::new();
                        for account in &mut f.accounts[..modified] {
                            account.lamports = account.lamports.wrapping_add(1);
                            account.data[(f.slot % DATA_LEN as u64) as usize] ^= 1;
                            changes.load(account.clone());
                        }
                        let started = Instant::now();
                        f.store.commit(f.slot, changes).map_err(|e| e.to_string())?;
                        f.slot += 1;
                        Ok((1, started.elapsed()))
                    })
                })?;
                rec.rate(
                    names::STORE_COMMITS,
                    At::Whole,
                    "commits/s",
                    &runs,
                    format!(
                        "Store::commit of a slot of {modified} modified accounts (200 bytes of data each) of {n}, each commit planning the pages, writing and fsyncing the log, applying and fsyncing the pages and recording the superblock, in {}; commits for >= {} ms of timed work after one untimed, on the calling thread; {}",
                        where_(),
                        sizes.min_run_ms,
                        ctx.median_of()
                    ),
                );
                Ok(())
            },
        ),
    ]
}
