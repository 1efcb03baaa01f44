//! Work shared between the calling thread and helper threads pinned to given PUs: how a
//! stage borrows the PUs of another for a batch that its own thread would take too long over
//! (the VED's signatures on the sigverify stage's PUs, the VED's LtHash likewise).
//!
//! The helpers are a [`HelperPool`]: threads started once, each pinned to its PU, parked
//! between batches. A batch wakes them and is cut into small chunks that every thread takes
//! from one counter, the caller's own thread among them, so a PU that other work shares does
//! less instead of the whole batch waiting for its part. The caller never waits for a helper
//! that has not begun: once no chunk is left it waits only for the chunks taken, and a helper
//! that wakes after that finds the batch closed. (Helpers spawned per batch cost the caller a
//! thread's start before its own first chunk, 70–110 µs on the 2-vCPU guest, and a join of
//! every helper: under user load the VED's LtHash waited up to 0.3 ms for a helper that took
//! no chunk, one the kernel had placed behind the VED's own thread. Measured 2026-12-05.)
//!
//! The same loop runs on threads started for the batch ([`Threads::Started`]) where no pool
//! serves the caller: the runtime's UED pass and LtHash on `ued_threads` threads, which run
//! where and at the priority of whichever thread executes the block. Each is moved at once to
//! another PU of its starter's mask; the chunks still make a late one cost nothing.
//!
//! A caller with other work of its own that the batch does not wait for gives it as the side
//! work ([`spread_in_chunks_beside`]): the others start on the chunks, the caller joins them
//! once its side work is done (the runtime's commit plans the store's writes so while the
//! slot's accounts are hashed).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;

/// Below this many items a helper costs more than it saves.
const MIN_PART: usize = 64;

/// What a thread takes at a time: four batches of the widest CPU lanes.
const CHUNK: usize = 32;

/// A batch's loop as the helpers run it: valid while its batch is open ([`Board`]).
#[derive(Clone, Copy)]
struct BatchRef(*const (dyn Fn() + Sync + 'static));

// SAFETY: the pointer is to a `Sync` closure, and a helper calls it only while the batch is
// open, which the caller keeps it until every helper inside has left ([`HelperPool::run`]).
unsafe impl Send for BatchRef {}

/// What the pool's threads and the caller share, under one lock.
struct Board {
    /// The batch open now, and its number.
    batch: Option<(BatchRef, u64)>,
    /// Batches opened so far.
    opened: u64,
    /// Helpers inside the open batch's loop.
    inside: usize,
    /// A helper's panic in the batch, for the caller to raise.
    panic: Option<Box<dyn Any + Send>>,
    /// The pool is being dropped.
    stop: bool,
}

/// The pool's shared state.
struct PoolShared {
    board: Mutex<Board>,
    /// Rung when a batch opens or the pool stops.
    wake: Condvar,
    /// Rung when the last helper inside a batch leaves it.
    left: Condvar,
}

impl PoolShared {
    fn board(&self) -> MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sets its flag when dropped — after the work it guards returned, or as a panic unwinds
/// through it — so that a thread beside that work, looping until the flag is set, ends either
/// way: set only after the work returned, a panic in it left `std::thread::scope` waiting for
/// that thread for ever (`tandem run`'s display; found by a review of the engine's waits).
pub struct SetOnDrop<'a>(pub &'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Helper threads, one pinned to each of a set of PUs, started once and parked between the
/// batches they share with the caller's thread ([`spread`], module docs). One batch at a time:
/// a caller that finds the helpers in another caller's batch does its batch alone. Dropping
/// the pool stops and joins its threads.
pub struct HelperPool {
    pus: Vec<usize>,
    shared: Arc<PoolShared>,
    /// Held by the caller whose batch the helpers share.
    turn: Mutex<()>,
    threads: Vec<JoinHandle<()>>,
}

impl HelperPool {
    /// A pool of one thread pinned to each of `pus` (a PU named twice gets two). The threads
    /// inherit the calling thread's scheduling class (a pool made on a `SCHED_IDLE` stage's
    /// thread helps at its priority). A helper the OS refuses to start is done without, and one
    /// that cannot be pinned helps wherever it runs; both are logged.
    pub fn new(pus: &[usize]) -> HelperPool {
        HelperPool::starting(pus, None)
    }

    /// A pool with no helpers: every batch runs on the caller's thread alone.
    pub fn none() -> HelperPool {
        HelperPool::new(&[])
    }

    /// [`HelperPool::new`], each helper first waiting for `gate` to close (the tests' helper
    /// that has not begun yet).
    fn starting(pus: &[usize], gate: Option<crossbeam_channel::Receiver<()>>) -> HelperPool {
        let shared = Arc::new(PoolShared {
            board: Mutex::new(Board {
                batch: None,
                opened: 0,
                inside: 0,
                panic: None,
                stop: false,
            }),
            wake: Condvar::new(),
            left: Condvar::new(),
        });
        // Started with the helpers' PUs in their mask, they start there at once, also from a
        // thread pinned elsewhere.
        let widened = super::pin::widen_current_thread(pus);
        let threads = pus
            .iter()
            .filter_map(|&pu| {
                let shared = Arc::clone(&shared);
                let gate = gate.clone();
                let helper = std::thread::Builder::new().name(format!("tandem-helper-{pu}"));
                helper
                    .spawn(move || {
                        if let Err(e) = super::pin_current_thread(pu) {
                            log::warn!("a helper thread runs unpinned: {e}");
                        }
                        if let Some(gate) = gate {
                            let _ = gate.recv();
                        }
                        help(&shared);
                    })
                    .inspect_err(|e| log::warn!("a helper thread for PU {pu} did not start: {e}"))
                    .ok()
            })
            .collect();
        drop(widened);
        HelperPool {
            pus: pus.to_vec(),
            shared,
            turn: Mutex::new(()),
            threads,
        }
    }

    /// The PUs of its helpers, as given.
    pub fn pus(&self) -> &[usize] {
        &self.pus
    }

    /// Runs `batch` on the calling thread and on every helper that wakes before the batch is
    /// closed; returns once the caller's run has returned and every helper inside has left.
    /// The caller first runs `side` (the helpers already at the batch), then its own part.
    /// `batch` must end when its work is gone (the helpers call it as the caller does, and a
    /// late one must find nothing to do). A helper's panic is raised here.
    fn run(&self, batch: &(dyn Fn() + Sync), side: &mut dyn FnMut()) {
        let turn = match self.turn.try_lock() {
            Ok(turn) => turn,
            Err(TryLockError::Poisoned(turn)) => turn.into_inner(),
            // Another caller's batch has the helpers.
            Err(TryLockError::WouldBlock) => {
                side();
                return batch();
            }
        };
        if self.threads.is_empty() {
            side();
            return batch();
        }
        // SAFETY: only the lifetime is erased. Helpers call it between entering the open
        // batch and leaving it, and `Closing` (below, also when `batch` unwinds) closes the
        // batch and waits until none is inside before this function returns.
        let erased: *const (dyn Fn() + Sync + 'static) =
            unsafe { std::mem::transmute(batch as *const (dyn Fn() + Sync + '_)) };
        {
            let mut board = self.shared.board();
            // One from a batch whose caller's run panicked first (and never took it).
            board.panic = None;
            board.opened += 1;
            board.batch = Some((BatchRef(erased), board.opened));
        }
        self.shared.wake.notify_all();
        /// Closes the batch and waits for the helpers inside it to leave.
        struct Closing<'a>(&'a PoolShared);
        impl Drop for Closing<'_> {
            fn drop(&mut self) {
                let mut board = self.0.board();
                board.batch = None;
                while board.inside > 0 {
                    board = self
                        .0
                        .left
                        .wait(board)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
        let closing = Closing(&self.shared);
        side();
        batch();
        drop(closing);
        let panic = self.shared.board().panic.take();
        drop(turn);
        if let Some(panic) = panic {
            resume_unwind(panic);
        }
    }
}

/// A helper's life: waits for each batch it has not run yet, runs it, until the pool stops.
fn help(shared: &PoolShared) {
    let mut ran = 0;
    loop {
        let batch = {
            let mut board = shared.board();
            loop {
                if board.stop {
                    return;
                }
                match board.batch {
                    Some((batch, number)) if number != ran => {
                        ran = number;
                        board.inside += 1;
                        break batch;
                    }
                    _ => {
                        board = shared
                            .wake
                            .wait(board)
                            .unwrap_or_else(PoisonError::into_inner)
                    }
                }
            }
        };
        // SAFETY: the batch is open (entered under the lock) and stays so until this helper
        // leaves it below ([`HelperPool::run`]).
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (*batch.0)() }));
        let mut board = shared.board();
        if let Err(panic) = result {
            board.panic.get_or_insert(panic);
        }
        board.inside -= 1;
        if board.inside == 0 {
            shared.left.notify_all();
        }
    }
}

impl Drop for HelperPool {
    fn drop(&mut self) {
        self.shared.board().stop = true;
        self.shared.wake.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for HelperPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelperPool")
            .field("pus", &self.pus)
            .field("threads", &self.threads.len())
            .finish()
    }
}

/// A chunk's answer, once a thread has done it.
type ChunkAnswer<T, E> = Mutex<Option<Result<Vec<T>, E>>>;

/// Runs `work` over `items` on the calling thread and, when `helpers` has threads and there
/// is enough to share, on them too; the answers come back in `items`' order.
pub fn spread<I: Sync, T: Send, E: Send>(
    helpers: &HelperPool,
    items: &[I],
    work: impl Fn(&[I]) -> Result<Vec<T>, E> + Sync,
) -> Result<Vec<T>, E> {
    spread_over(Threads::Pool(helpers), items, work)
}

/// [`spread`] on `threads`.
pub fn spread_over<I: Sync, T: Send, E: Send>(
    threads: Threads<'_>,
    items: &[I],
    work: impl Fn(&[I]) -> Result<Vec<T>, E> + Sync,
) -> Result<Vec<T>, E> {
    spread_in_chunks_over(threads, items, CHUNK, work)
}

/// [`spread`], the threads taking `chunk` items at a time: larger chunks for work whose
/// answer is per chunk rather than per item (a partial sum), so that there are few of them.
/// No helpers where there are fewer than two chunks, or fewer than 64 items per
/// thread. A chunk's error stops the threads taking more; the first chunk's error in
/// `items`' order is the answer.
///
/// # Panics
/// If `chunk` is 0, or where `work` panics (on any thread).
pub fn spread_in_chunks<I: Sync, T: Send, E: Send>(
    helpers: &HelperPool,
    items: &[I],
    chunk: usize,
    work: impl Fn(&[I]) -> Result<Vec<T>, E> + Sync,
) -> Result<Vec<T>, E> {
    spread_in_chunks_over(Threads::Pool(helpers), items, chunk, work)
}

/// Which threads share a batch with the calling thread.
#[derive(Clone, Copy, Debug)]
pub enum Threads<'a> {
    /// The threads of this pool, each pinned to its PU (a stage borrowing another's PUs).
    Pool(&'a HelperPool),
    /// As many threads in all, the caller's among them, the others started for the batch,
    /// each moved at once to another PU the caller may run on, in turn (left where the kernel
    /// starts it, a new thread often waits behind its busy starter), and running at its
    /// priority: the UED's pass and hashing threads, on the UED's PUs.
    Started(usize),
}

/// [`spread_in_chunks`] on `threads`: the same answers, in `items`' order, on any threads.
pub fn spread_in_chunks_over<I: Sync, T: Send, E: Send>(
    threads: Threads<'_>,
    items: &[I],
    chunk: usize,
    work: impl Fn(&[I]) -> Result<Vec<T>, E> + Sync,
) -> Result<Vec<T>, E> {
    spread_in_chunks_beside(threads, items, chunk, work, || ()).0
}

/// [`spread_in_chunks_over`] while the calling thread first does `side`, other work of its
/// own: the other threads start on the chunks at once and the caller takes the chunks left once
/// `side` returns (where the batch is too small to share, `side` and then the whole batch run on
/// the calling thread). Gives the batch's answers and `side`'s. A runtime's commit plans the
/// store's writes this way while the other threads hash the slot's accounts.
pub fn spread_in_chunks_beside<I: Sync, T: Send, E: Send, R>(
    threads: Threads<'_>,
    items: &[I],
    chunk: usize,
    work: impl Fn(&[I]) -> Result<Vec<T>, E> + Sync,
    side: impl FnOnce() -> R,
) -> (Result<Vec<T>, E>, R) {
    assert!(chunk > 0, "chunks of at least one item");
    let mut side = Some(side);
    let mut side_answer = None;
    let mut run_side = || {
        if let Some(side) = side.take() {
            side_answer = Some(side());
        }
    };
    let most = match threads {
        Threads::Pool(helpers) => helpers.threads.len() + 1,
        Threads::Started(threads) => threads,
    };
    let threads_now = most
        .min(items.len() / MIN_PART)
        .min(items.len().div_ceil(chunk));
    if threads_now <= 1 {
        run_side();
        let answers = work(items);
        return (answers, side_answer.expect("the side ran"));
    }
    let chunks: Vec<&[I]> = items.chunks(chunk).collect();
    let answers: Vec<ChunkAnswer<T, E>> = std::iter::repeat_with(|| Mutex::new(None))
        .take(chunks.len())
        .collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let batch = || {
        while !failed.load(Ordering::Relaxed) {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(part) = chunks.get(k) else {
                return;
            };
            let answer = work(part);
            failed.fetch_or(answer.is_err(), Ordering::Relaxed);
            *answers[k].lock().unwrap_or_else(PoisonError::into_inner) = Some(answer);
        }
    };
    match threads {
        Threads::Pool(helpers) => helpers.run(&batch, &mut run_side),
        Threads::Started(_) => run_on_started_threads(threads_now - 1, &batch, &mut run_side),
    }
    let side_answer = side_answer.expect("the side ran");
    let gathered = (|| {
        let mut all = Vec::with_capacity(items.len());
        for answer in answers {
            match answer.into_inner().unwrap_or_else(PoisonError::into_inner) {
                Some(answer) => all.extend(answer?),
                // Left after an error, which comes later in the order: `failed` said so.
                None => debug_assert!(failed.load(Ordering::Relaxed), "a chunk not taken"),
            }
        }
        Ok(all)
    })();
    (gathered, side_answer)
}

/// Runs `batch` on the calling thread (after `side`) and on `count` threads started for it,
/// each moved at once to another PU the caller may run on, in turn; returns once all have
/// returned. A thread the OS refuses to start is done without (logged); a panic on any is
/// raised here.
fn run_on_started_threads(count: usize, batch: &(dyn Fn() + Sync), side: &mut dyn FnMut()) {
    /// The threads started for the batch, joined when dropped — also when the caller's run
    /// unwinds — so that none outlives the batch it borrows.
    struct Joined(Vec<JoinHandle<()>>);
    impl Drop for Joined {
        fn drop(&mut self) {
            for thread in self.0.drain(..) {
                let _ = thread.join();
            }
        }
    }
    let beside = super::pin::pus_beside_current_thread();
    // Each started thread waits for its move before it takes a part: started on another PU,
    // it could otherwise run (and take parts) on every PU of the caller's mask for the moment
    // between its start and its move — a test saw a started thread with the caller's two PUs.
    let moved: Vec<AtomicBool> = (0..count).map(|_| AtomicBool::new(false)).collect();
    // A test's signal that a started thread is running before its move.
    #[cfg(test)]
    let running: Vec<AtomicBool> = (0..count).map(|_| AtomicBool::new(false)).collect();
    let mut started = Joined(Vec::with_capacity(count));
    for (k, moved) in moved.iter().enumerate() {
        let builder = std::thread::Builder::new().name("tandem-part".into());
        #[cfg(test)]
        let running_k = &running[k];
        let part = move || {
            #[cfg(test)]
            running_k.store(true, Ordering::Release);
            while !moved.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
            batch();
        };
        // SAFETY: every thread started here is joined before this function returns — by the
        // loop below, or by `Joined`'s drop where the caller's run unwinds — so `batch` and
        // `moved`, which it borrows, outlive it (`moved` is dropped after `started`). (A scoped
        // thread's handle gives no pthread_t to move it by.)
        match unsafe { builder.spawn_unchecked(part) } {
            Ok(thread) => {
                #[cfg(test)]
                tests::pause_before_move(&running[k]);
                if let Some(&pu) = beside.get(k % beside.len().max(1)) {
                    super::pin::move_started_thread(&thread, pu);
                }
                moved.store(true, Ordering::Release);
                started.0.push(thread);
            }
            Err(e) => log::warn!("a thread for a batch did not start: {e}"),
        }
    }
    side();
    batch();
    let mut panic = None;
    for thread in started.0.drain(..) {
        if let Err(p) = thread.join() {
            panic.get_or_insert(p);
        }
    }
    if let Some(panic) = panic {
        resume_unwind(panic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    /// The PUs in the calling thread's mask.
    #[cfg(target_os = "linux")]
    fn mask_size() -> usize {
        core_affinity::get_core_ids()
            .expect("the affinity mask is readable")
            .len()
    }

    /// The caller's side work runs while the other threads take chunks, the caller joins the
    /// chunks only after it, and both answers come back (on started threads and on a pool).
    #[test]
    fn the_side_work_runs_while_the_others_take_chunks() {
        let pool = HelperPool::new(&[0]);
        for threads in [Threads::Started(2), Threads::Pool(&pool)] {
            let caller = std::thread::current().id();
            let by_others = AtomicUsize::new(0);
            let side_done = AtomicBool::new(false);
            let caller_too_early = AtomicBool::new(false);
            let items: Vec<usize> = (0..8 * MIN_PART).collect();
            let (answers, side) = spread_in_chunks_beside(
                threads,
                &items,
                MIN_PART,
                |part| {
                    if std::thread::current().id() == caller {
                        caller_too_early
                            .fetch_or(!side_done.load(Ordering::SeqCst), Ordering::SeqCst);
                    } else {
                        by_others.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok::<_, ()>(part.iter().map(|i| i * 2).collect())
                },
                || {
                    let waited = std::time::Instant::now();
                    while by_others.load(Ordering::SeqCst) == 0 {
                        assert!(
                            waited.elapsed() < Duration::from_secs(20),
                            "no other thread took a chunk while the caller did its side work ({threads:?})"
                        );
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    side_done.store(true, Ordering::SeqCst);
                    "planned"
                },
            );
            let doubled: Vec<usize> = items.iter().map(|i| i * 2).collect();
            assert_eq!(answers, Ok(doubled), "the answers in the items' order");
            assert_eq!(side, "planned");
            assert!(
                !caller_too_early.into_inner(),
                "the caller took a chunk before its side work"
            );
        }
        // Too small a batch to share: the side, then the batch, on the calling thread.
        let (answers, side) = spread_in_chunks_beside(
            Threads::Started(2),
            &[1, 2, 3],
            MIN_PART,
            |p| Ok::<_, ()>(p.to_vec()),
            || 7,
        );
        assert_eq!((answers, side), (Ok(vec![1, 2, 3]), 7));
    }

    thread_local! {
        /// Whether the calling thread, between starting a thread for a batch and moving it,
        /// waits until the started thread runs (a test's stand-in for a preempted caller).
        static PAUSE_BEFORE_MOVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        /// How many started threads were seen running before their move in such a pause.
        static RAN_BEFORE_MOVE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// The pause of [`PAUSE_BEFORE_MOVE`]: until `running` says the started thread runs (10 s
    /// at most: the thread waits for its move, so the caller must not wait for ever).
    pub(super) fn pause_before_move(running: &AtomicBool) {
        if !PAUSE_BEFORE_MOVE.with(std::cell::Cell::get) {
            return;
        }
        let began = std::time::Instant::now();
        while !running.load(Ordering::Acquire) && began.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_micros(100));
        }
        if running.load(Ordering::Acquire) {
            // Running, with the caller's mask, for a moment more before the move.
            std::thread::sleep(Duration::from_millis(5));
            RAN_BEFORE_MOVE.with(|n| n.set(n.get() + 1));
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn threads_started_for_a_batch_are_moved_off_the_callers_pu() {
        if mask_size() < 2 {
            tandem_kernels::say_skipped!("one PU allowed: no other PU to start a thread on");
            return;
        }
        // The first chunk waits until a started thread has taken one, so one does; each
        // started thread notes the PUs its mask holds. Left in the caller's mask, it would
        // start behind the busy caller (the fix: moved to one other PU at once), and a thread
        // that ran before its move took parts with the caller's whole mask (CI saw it once:
        // the started threads wait for their move since). Batch after batch, for the race.
        for _ in 0..50 {
            started_threads_hold_one_pu();
        }
        // The caller held up between a thread's start and its move (preempted, on a busy
        // machine): the thread waits for its move.
        PAUSE_BEFORE_MOVE.with(|pause| pause.set(true));
        started_threads_hold_one_pu();
        PAUSE_BEFORE_MOVE.with(|pause| pause.set(false));
        assert!(
            RAN_BEFORE_MOVE.with(std::cell::Cell::get) > 0,
            "no started thread ran before its move: the case was not reached"
        );
    }

    #[cfg(target_os = "linux")]
    fn started_threads_hold_one_pu() {
        let caller = std::thread::current().id();
        let masks = Mutex::new(Vec::new());
        let items: Vec<usize> = (0..4 * MIN_PART).collect();
        let answers = spread_in_chunks_over(Threads::Started(2), &items, MIN_PART, |part| {
            if std::thread::current().id() != caller {
                masks.lock().unwrap().push(mask_size());
            } else if part[0] == 0 {
                let waited = std::time::Instant::now();
                while masks.lock().unwrap().is_empty() {
                    assert!(
                        waited.elapsed() < Duration::from_secs(20),
                        "no thread started beside the caller took a chunk"
                    );
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            Ok::<_, ()>(part.to_vec())
        })
        .unwrap();
        assert_eq!(answers, items, "the answers in the items' order");
        let masks = masks.into_inner().unwrap();
        assert!(!masks.is_empty());
        assert!(masks.iter().all(|&pus| pus == 1), "masks of {masks:?} PUs");
    }

    #[test]
    fn answers_come_back_in_items_order_on_any_number_of_helpers_and_chunk_sizes() {
        let items: Vec<u64> = (0..1_000).collect();
        let want: Vec<u64> = items.iter().map(|i| i * 3 + 1).collect();
        for pus in [&[][..], &[0], &[0, 0, 0]] {
            let helpers = HelperPool::new(pus);
            for chunk in [1, 32, 300, 5_000] {
                // Twice: a pool serves batch after batch.
                for _ in 0..2 {
                    let calls = AtomicUsize::new(0);
                    let answers = spread_in_chunks(&helpers, &items, chunk, |part| {
                        calls.fetch_add(1, Ordering::Relaxed);
                        Ok::<_, ()>(part.iter().map(|i| i * 3 + 1).collect())
                    })
                    .expect("no error");
                    // Alone, the caller takes the batch whole; with helpers, chunk by chunk.
                    let chunks = match pus {
                        [] => 1,
                        _ => items.len().div_ceil(chunk),
                    };
                    assert_eq!(calls.into_inner(), chunks, "{} helpers", pus.len());
                    assert_eq!(answers, want, "{} helpers, chunks of {chunk}", pus.len());
                }
            }
        }
        // An error of any chunk is the answer: the first in the items' order.
        let helpers = HelperPool::new(&[0]);
        let error = spread(&helpers, &items, |part| match part[0] {
            640 | 960 => Err(part[0]),
            _ => Ok(part.to_vec()),
        });
        assert_eq!(error, Err(640));
    }

    #[test]
    fn a_batch_waits_for_no_helper_that_has_not_begun_and_the_helper_takes_later_ones() {
        let (open, gate) = crossbeam_channel::bounded::<()>(0);
        let helpers = Arc::new(HelperPool::starting(&[0], Some(gate)));
        let items: Vec<u64> = (0..512).collect();
        // The helper is held before its first batch: the batch is the caller's alone, and
        // returns (spawned helpers were joined, each batch waiting for every one).
        let (done, finished) = crossbeam_channel::bounded(1);
        let pool = Arc::clone(&helpers);
        let caller = std::thread::spawn(move || {
            let on = |part: &[u64]| -> Result<Vec<String>, ()> {
                let name = std::thread::current().name().map(str::to_owned);
                Ok(part
                    .iter()
                    .map(|_| name.clone().unwrap_or_default())
                    .collect())
            };
            let by = spread(&pool, &items, on).expect("no error");
            let _ = done.send(by);
        });
        let by = finished
            .recv_timeout(Duration::from_secs(60))
            .expect("the batch returned without the helper");
        caller.join().expect("the caller");
        assert!(by.iter().all(|name| !name.starts_with("tandem-helper")));
        // Let go, it joins the batches that come while it can (it takes chunks until they are
        // gone: the caller's are slow).
        drop(open);
        let items: Vec<u64> = (0..256).collect();
        let helped = (0..1_000).any(|_| {
            let by = spread(&helpers, &items, |part| {
                let name = std::thread::current().name().map(str::to_owned);
                if !name.as_deref().unwrap_or("").starts_with("tandem-helper") {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok::<_, ()>(part.iter().map(|_| name.clone()).collect::<Vec<_>>())
            })
            .expect("no error");
            by.iter()
                .any(|name| name.as_deref() == Some("tandem-helper-0"))
        });
        assert!(helped, "the helper took no chunk of a thousand batches");
    }

    #[test]
    fn a_helpers_panic_is_the_callers_and_the_pool_serves_on() {
        let helpers = HelperPool::new(&[0]);
        let items: Vec<u64> = (0..4_096).collect();
        // Every chunk panics, whichever thread takes it: the caller's run panics at its first.
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            spread(&helpers, &items, |_| -> Result<Vec<u64>, ()> {
                panic!("a chunk's panic")
            })
        }));
        assert!(panicked.is_err());
        let answers = spread(&helpers, &items, |part| Ok::<_, ()>(part.to_vec()));
        assert_eq!(answers, Ok(items));
    }

    /// A panic on another thread alone — the caller's chunks all succeed — reaches the caller as
    /// itself, on a pool and on started threads (the test above cannot tell: the caller's own
    /// chunk panics there too; and a chunk left unanswered would panic the gather in a debug
    /// build anyway, so the payload is what tells).
    #[test]
    fn a_panic_on_another_thread_alone_is_the_callers() {
        let pool = HelperPool::new(&[0]);
        for threads in [Threads::Pool(&pool), Threads::Started(2)] {
            let caller = std::thread::current().id();
            let other_took = AtomicBool::new(false);
            let items: Vec<u64> = (0..4_096).collect();
            let result = catch_unwind(AssertUnwindSafe(|| {
                spread_over(threads, &items, |part| -> Result<Vec<u64>, ()> {
                    if std::thread::current().id() != caller {
                        other_took.store(true, Ordering::SeqCst);
                        panic!("only on another thread");
                    }
                    // The caller waits for another thread to take a chunk, so that one does.
                    let waited = std::time::Instant::now();
                    while !other_took.load(Ordering::SeqCst)
                        && waited.elapsed() < Duration::from_secs(20)
                    {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Ok(part.to_vec())
                })
            }));
            assert!(
                other_took.into_inner(),
                "{threads:?}: another thread took a chunk"
            );
            let panic = result.expect_err("its panic reached the caller");
            let what = panic.downcast_ref::<&str>().copied().unwrap_or_default();
            assert_eq!(what, "only on another thread", "{threads:?}: its own panic");
        }
    }

    /// Two callers of one pool at once: one has the helpers, the other runs alone, and both
    /// get their own answers.
    #[test]
    fn two_callers_of_one_pool_both_get_their_answers() {
        let helpers = HelperPool::new(&[0, 0]);
        let items: Vec<u64> = (0..2_000).collect();
        std::thread::scope(|s| {
            for m in [3u64, 5] {
                let (helpers, items) = (&helpers, &items);
                s.spawn(move || {
                    for _ in 0..500 {
                        let answers = spread(helpers, items, |part| {
                            Ok::<_, ()>(part.iter().map(|i| i * m).collect::<Vec<_>>())
                        });
                        let want: Vec<u64> = items.iter().map(|i| i * m).collect();
                        assert_eq!(answers, Ok(want));
                    }
                });
            }
        });
    }
}
