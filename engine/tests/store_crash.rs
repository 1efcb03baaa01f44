//! Store tests that need a second process: crash atomicity under `kill -9`, and the MMU refusing
//! a stray write into a program page.
//!
//! The children are this same test binary, re-run on one `#[ignore]`d test with an environment
//! variable naming the store directory; they never run in a normal `cargo test`.

mod common;

use common::{STORE_FILES, assert_faulted, listing};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tandem_engine::sample::{SplitMix64, builtin_programs, sample_account};
use tandem_engine::store::{CreatePhase, SlotChanges, Store, StoreError};
use tandem_engine::{Account, Domain, Mapping, Pubkey};

const CRASH_CHILD_ENV: &str = "TANDEM_TEST_CRASH_CHILD_DIR";
const MMU_CHILD_ENV: &str = "TANDEM_TEST_MMU_CHILD_DIR";
/// Names the [`CreatePhase`] at which the crash child stops and waits to be killed.
const PAUSE_AT_ENV: &str = "TANDEM_TEST_CRASH_PAUSE_AT";
const WORKLOAD_SEED: u64 = 0x7a6e_6465_6d21;

/// One slot's change to one account, as the model applies it.
#[derive(Clone, Debug)]
enum Op {
    Put(Account),
    Delete(Pubkey, Mapping),
    Remap(Pubkey, Mapping),
}

type Model = BTreeMap<Pubkey, Account>;

/// The changes of `slot`, a pure function of the slot and the state before it. Each account is
/// touched at most once per slot.
fn slot_ops(slot: u64, model: &Model) -> Vec<Op> {
    let mut rng = SplitMix64::new(WORKLOAD_SEED ^ slot.wrapping_mul(0x9E37_79B9));
    if slot == 0 {
        let mut ops: Vec<Op> = builtin_programs().into_iter().map(Op::Put).collect();
        for i in 0..120 {
            let mapping = if i % 4 == 0 {
                Mapping::RwVed
            } else {
                Mapping::RwUed
            };
            let len = data_len(&mut rng);
            ops.push(Op::Put(sample_account(&mut rng, mapping, len)));
        }
        ops.push(Op::Put(sample_account(&mut rng, Mapping::RxUed, 9000)));
        return ops;
    }
    let keys: Vec<&Account> = model.values().filter(|a| !a.executable).collect();
    let mut touched = BTreeSet::new();
    let mut ops = Vec::new();
    for _ in 0..10 + rng.below(50) {
        let roll = rng.below(100);
        let existing = (!keys.is_empty()).then(|| keys[rng.below(keys.len() as u64) as usize]);
        match (roll, existing) {
            (0..=39, _) | (_, None) => {
                let mapping = if rng.below(4) == 0 {
                    Mapping::RwVed
                } else {
                    Mapping::RwUed
                };
                let len = data_len(&mut rng);
                ops.push(Op::Put(sample_account(&mut rng, mapping, len)));
            }
            (_, Some(account)) if !touched.insert(account.pubkey) => {}
            (40..=74, Some(account)) => {
                let mut updated = account.clone();
                updated.lamports = rng.below(u64::MAX);
                updated.data.resize(data_len(&mut rng), 0);
                rng.fill(&mut updated.data);
                ops.push(Op::Put(updated));
            }
            (75..=89, Some(account)) => ops.push(Op::Delete(account.pubkey, account.mapping)),
            (_, Some(account)) => {
                let target = if account.mapping == Mapping::RwVed {
                    Mapping::RwUed
                } else {
                    Mapping::RwVed
                };
                ops.push(Op::Remap(account.pubkey, target));
            }
        }
    }
    ops
}

/// Mostly cell-sized records, some that span 2..6 pages.
fn data_len(rng: &mut SplitMix64) -> usize {
    if rng.below(10) == 0 {
        4000 + rng.below(20_000) as usize
    } else {
        rng.below(700) as usize
    }
}

fn apply(model: &mut Model, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Put(account) => {
                model.insert(account.pubkey, account.clone());
            }
            Op::Delete(key, _) => {
                model.remove(key);
            }
            Op::Remap(key, target) => {
                model.get_mut(key).expect("remap of a live account").mapping = *target;
            }
        }
    }
}

fn stage(store: &Store, ops: &[Op]) -> SlotChanges {
    let mut changes = SlotChanges::new();
    for op in ops {
        match op {
            Op::Put(account) => changes.load(account.clone()),
            Op::Delete(key, mapping) => {
                let domain = if *mapping == Mapping::RwVed {
                    Domain::Ved
                } else {
                    Domain::Ued
                };
                store
                    .view(domain)
                    .stage_delete(&mut changes, key)
                    .expect("delete through the owning domain");
            }
            Op::Remap(key, target) => changes.remap(*key, *target),
        }
    }
    changes
}

/// Advances `model` from the state after `from` (None: empty) to the state after `to`.
fn advance(model: &mut Model, from: Option<u64>, to: Option<u64>) {
    let Some(to) = to else { return };
    let start = from.map_or(0, |f| f + 1);
    for slot in start..=to {
        let ops = slot_ops(slot, model);
        apply(model, &ops);
    }
}

fn assert_store_equals_model(store: &Store, model: &Model, context: &str) {
    assert_eq!(store.len(), model.len(), "{context}: account count");
    for (key, expected) in model {
        let found = store
            .inspect(key)
            .unwrap_or_else(|| panic!("{context}: account {key} is missing"))
            .to_account();
        assert_eq!(&found, expected, "{context}: account {key} differs");
    }
}

/// The child of the crash tests: opens the store (creating it, as `Runtime::open_with` does, when
/// the directory holds none), then commits slot after slot until it is killed. It reports its
/// progress on stdout, one line per step — `opening`, `phase <create phase>`, `ready`,
/// `committed <slot>` — so the parent can kill it at a chosen point of its progress rather than
/// after a delay whose meaning depends on the machine's load. With [`PAUSE_AT_ENV`] naming a
/// create phase, it stops at that phase and waits to be killed.
#[test]
#[ignore = "child process of the crash tests"]
fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_CHILD_ENV) else {
        return;
    };
    let pause_at = std::env::var(PAUSE_AT_ENV).ok();
    // libtest has printed "test crash_child ... " without a newline: end it, so that every
    // progress line stands alone.
    println!();
    println!("opening");
    let mut store = match Store::open(&dir) {
        Ok(store) => store,
        Err(StoreError::NotAStore { .. }) => Store::create_with_progress(&dir, |phase| {
            println!("phase {phase}");
            if pause_at.as_deref() == Some(phase.name()) {
                // The parent kills us here; the deadline only bounds an orphan's life.
                std::thread::sleep(Duration::from_secs(120));
                panic!("paused at {phase} and was never killed");
            }
        })
        .expect("create store"),
        Err(e) => panic!("child could not open the store: {e}"),
    };
    let mut model = Model::new();
    let start = store.committed_slot();
    advance(&mut model, None, start);
    println!("ready");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut slot = start.map_or(0, |s| s + 1);
    while Instant::now() < deadline {
        let ops = slot_ops(slot, &model);
        let changes = stage(&store, &ops);
        store.commit(slot, changes).expect("commit");
        apply(&mut model, &ops);
        println!("committed {slot}");
        slot += 1;
    }
}

/// Serialises the tests that spawn children. Between `fork` and `exec` a child holds copies of
/// every descriptor of this process, so a store the parent test just closed can stay locked for
/// a moment by a child another test thread is spawning, and the next crash child would find it
/// `Locked`. One parent test at a time keeps each test's stores its own.
fn one_parent_at_a_time() -> MutexGuard<'static, ()> {
    static PARENTS: Mutex<()> = Mutex::new(());
    // A test that failed while holding the lock has reported its failure; the others may go on.
    PARENTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn spawn_child(env: &str, dir: &Path, test: &str, pause_at: Option<CreatePhase>) -> Child {
    let mut command = Command::new(std::env::current_exe().expect("test binary path"));
    command
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(env, dir)
        .env_remove(PAUSE_AT_ENV)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(phase) = pause_at {
        command.env(PAUSE_AT_ENV, phase.name());
    }
    command.spawn().expect("spawn child test process")
}

/// A crash child and the lines it has printed so far.
struct CrashChild {
    child: Child,
    stdout: BufReader<ChildStdout>,
    seen: String,
}

impl CrashChild {
    fn spawn(dir: &Path, pause_at: Option<CreatePhase>) -> CrashChild {
        let mut child = spawn_child(CRASH_CHILD_ENV, dir, "crash_child", pause_at);
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        CrashChild {
            child,
            stdout,
            seen: String::new(),
        }
    }

    /// Reads lines until one satisfies `wanted` and returns it; panics, with what the child
    /// printed, if it exits first.
    fn wait_for(&mut self, context: &str, wanted: impl Fn(&str) -> bool) -> String {
        loop {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).expect("read child stdout");
            if n == 0 {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{context}: the child ended before the awaited line: {:?} {}",
                    self.seen,
                    child_stderr(&mut self.child)
                );
            }
            self.seen.push_str(&line);
            let line = line.trim_end();
            if wanted(line) {
                return line.to_owned();
            }
        }
    }

    /// SIGKILLs the child and checks that it did not fail on its own before.
    fn kill(mut self, context: &str) {
        self.child.kill().expect("SIGKILL the child");
        let status = self.child.wait().expect("reap the child");
        assert!(
            status.signal() == Some(libc::SIGKILL) || status.success(),
            "{context}: child failed on its own: {status:?} {:?} {}",
            self.seen,
            child_stderr(&mut self.child)
        );
    }
}

/// Issue 9, item 11: a kill at any phase of `Store::create` leaves either no store (so that
/// `Runtime::open_with`, which creates one when `open` finds none, can proceed) or a complete
/// empty store — never a half-store that `open` refuses and `create` will not replace. The
/// child stops at each phase in turn, in a directory that exists empty (as `tempfile` and
/// `tandem replay --store DIR` hand out) and in one that does not exist yet; the parent kills it
/// there, checks what `open` says, interrupts a second create at the next phase, and finally
/// opens or creates the store as the runtime does.
#[test]
fn store_creation_survives_kill_9_at_every_phase() {
    let _serial = one_parent_at_a_time();
    for (k, &phase) in CreatePhase::ALL.iter().enumerate() {
        let next = CreatePhase::ALL[(k + 1) % CreatePhase::ALL.len()];
        for exists in [true, false] {
            let parent = tempfile::tempdir().expect("tempdir");
            let dir = if exists {
                parent.path().to_owned()
            } else {
                parent.path().join("store")
            };
            let context = format!("killed at {phase} (directory existed: {exists})");
            let mut child = CrashChild::spawn(&dir, Some(phase));
            child.wait_for(&context, |l| l == format!("phase {phase}"));
            child.kill(&context);
            let opened = open_fresh_or_none(&dir, &context);
            if phase == CreatePhase::InPlace {
                assert!(
                    opened,
                    "{context}: the store is in place, but open finds none"
                );
            }

            // A second create, interrupted too, over what the first one left.
            let context = format!("{context}, then at {next}");
            let mut child = CrashChild::spawn(&dir, Some(next));
            let line = child.wait_for(&context, |l| l == format!("phase {next}") || l == "ready");
            assert!(
                line == "ready" || !opened,
                "{context}: the child created a store over a complete one"
            );
            child.kill(&context);
            open_fresh_or_none(&dir, &context);

            // What the runtime does next: open, or create where there is no store.
            let mut store = match Store::open(&dir) {
                Ok(store) => store,
                Err(StoreError::NotAStore { .. }) => Store::create(&dir)
                    .unwrap_or_else(|e| panic!("{context}: create after the kills: {e}")),
                Err(e) => panic!("{context}: open after the kills: {e}"),
            };
            assert_eq!(store.committed_slot(), None, "{context}");
            let mut changes = SlotChanges::new();
            for program in builtin_programs() {
                changes.load(program);
            }
            store.commit(0, changes).expect("commit to the new store");
            drop(store);
            let store = Store::open(&dir).expect("reopen the new store");
            assert_eq!(store.committed_slot(), Some(0), "{context}");
            assert_eq!(store.len(), builtin_programs().len(), "{context}");
            drop(store);
            assert_eq!(
                listing(&dir),
                STORE_FILES,
                "{context}: leftovers of the interrupted creates"
            );
        }
    }
}

/// After a kill during creation: `open` finds either no store (false) or a complete, empty store
/// at "nothing committed" (true). Anything else is the half-store this test exists to catch.
fn open_fresh_or_none(dir: &Path, context: &str) -> bool {
    match Store::open(dir) {
        Ok(store) => {
            assert_eq!(store.committed_slot(), None, "{context}");
            assert!(store.is_empty(), "{context}");
            true
        }
        Err(StoreError::NotAStore { .. }) => false,
        Err(e) => panic!("{context}: open refuses what the interrupted create left: {e}"),
    }
}

/// SPEC §1 / issue 2: after `kill -9` at any moment, reopening yields exactly the state of the
/// last committed slot, never a mix. Each iteration starts a child that continues the committed
/// chain of slots and kills it (SIGKILL) at a point chosen by its progress: at a phase of
/// creating the store (while there is none yet), a moment after it began to open (and perhaps
/// recover) the store, or a moment after its n-th commit. Then it reopens and compares every
/// account with an in-memory recomputation.
#[test]
fn store_survives_kill_9_at_random_moments() {
    let _serial = one_parent_at_a_time();
    let iterations: u64 = std::env::var("TANDEM_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let seed: u64 = std::env::var("TANDEM_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = SplitMix64::new(seed);
    let mut model = Model::new();
    let mut model_slot = None;
    let mut store_exists = false;
    let mut recoveries = 0;
    let mut kills_during_create = 0;
    let mut kills_during_open = 0;
    for i in 0..iterations {
        let context = format!("iteration {i} (seed {seed})");
        // The first child always dies creating the store, whatever the seed.
        let create_phase = (!store_exists && (rng.below(2) == 0 || i == 0))
            .then(|| CreatePhase::ALL[rng.below(CreatePhase::ALL.len() as u64) as usize]);
        let mut child = CrashChild::spawn(dir.path(), create_phase);
        if let Some(phase) = create_phase {
            child.wait_for(&context, |l| l == format!("phase {phase}"));
            kills_during_create += 1;
        } else if rng.below(5) == 0 {
            // Kill while it opens (and perhaps replays the log of) the store.
            child.wait_for(&context, |l| l == "opening");
            std::thread::sleep(Duration::from_micros(rng.below(3_000)));
            kills_during_open += 1;
        } else {
            child.wait_for(&context, |l| l == "ready");
            for _ in 0..1 + rng.below(3) {
                child.wait_for(&context, |l| l.starts_with("committed "));
            }
            // Somewhere in the next commit (or a later one: any moment is a valid kill point).
            std::thread::sleep(Duration::from_micros(rng.below(5_000)));
        }
        child.kill(&context);

        let store = match Store::open(dir.path()) {
            Ok(store) => store,
            Err(StoreError::NotAStore { .. }) if !store_exists => continue,
            Err(e) => panic!("{context}: reopen failed: {e}"),
        };
        store_exists = true;
        let slot = store.committed_slot();
        assert!(
            slot >= model_slot,
            "{context}: committed slot went back from {model_slot:?} to {slot:?}"
        );
        advance(&mut model, model_slot, slot);
        model_slot = slot;
        assert_store_equals_model(&store, &model, &format!("{context}, slot {slot:?}"));
        if store.recovered_slot().is_some() {
            recoveries += 1;
        }
    }
    eprintln!(
        "crash test: {iterations} kills ({kills_during_create} while creating, {kills_during_open} \
         while opening), reached slot {model_slot:?}, {recoveries} reopens completed a logged commit"
    );
    assert!(
        model_slot.is_some_and(|s| s > iterations / 2),
        "the children committed too few slots to test anything: {model_slot:?}"
    );
    // Kills inside a commit, after its log record and before its superblock, are what the
    // recovery is for: 7–11 of 40 reopens complete one on a 2-core machine (a run of a few
    // kills may land none).
    assert!(
        recoveries > 0 || iterations < 20,
        "no kill landed inside a commit in {iterations} (seed {seed}): the recovery went untested"
    );
}

fn child_stderr(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut err);
    }
    err
}

/// The child of the MMU test: writes through a pointer into a program page obtained from a view.
#[test]
#[ignore = "child process of program_pages_are_read_only_in_the_mmu"]
fn mmu_child() {
    let Some(dir) = std::env::var_os(MMU_CHILD_ENV) else {
        return;
    };
    let mut store = Store::create(&dir).expect("create store");
    let mut changes = SlotChanges::new();
    for program in builtin_programs() {
        changes.load(program);
    }
    store.commit(0, changes).expect("commit genesis");
    let system = builtin_programs()[0].pubkey;
    for domain in Domain::ALL {
        let view = store.view(domain);
        let program = view.get(&system).expect("readable").expect("exists");
        assert_eq!(&*program.data, b"system_program");
    }
    let view = store.view(Domain::Ued);
    let program = view.get(&system).expect("readable").expect("exists");
    let target = program.data.as_ptr().cast_mut();
    println!("writing");
    // SAFETY: deliberately unsound: this models a buggy executor scribbling through a pointer it
    // got from a view. The page is mapped PROT_READ, so the MMU must stop the process here.
    unsafe { target.write_volatile(b'X') };
    println!("survived");
}

/// SPEC §1: "where the OS can enforce it, it does". A program page is mapped read-only in every
/// view, so a stray write from an executor faults (SIGSEGV) instead of changing the program.
#[test]
fn program_pages_are_read_only_in_the_mmu() {
    let _serial = one_parent_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let store_dir = dir.path().join("store");
    let child = spawn_child(MMU_CHILD_ENV, &store_dir, "mmu_child", None);
    let output = child.wait_with_output().expect("child output");
    assert_faulted(&output, "writing", "a write into a program page");
    // The program is intact.
    let store = Store::open(&store_dir).expect("reopen");
    let system = builtin_programs()[0].pubkey;
    assert_eq!(&*store.inspect(&system).unwrap().data, b"system_program");
}
