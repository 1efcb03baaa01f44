//! Room on the caller's stack. A host's thread can have a small one (a musl thread has
//! 128 KiB, a JVM's 1 MiB, a host may give 64 KiB), and what an export needs of it is ours to
//! provide: `tandem_engine_open` took about 112 KiB, the batch verify about 80 KiB on its
//! first call (its tables made, stop 74) — a host thread too small faulted (SIGSEGV) without a
//! word. Such work runs on a thread of its own ([`on_a_stack_of_its_own`]), always where it is
//! large (open, close) and where the caller's stack is short of [`KERNEL_STACK_ROOM`] for the
//! kernels ([`with_stack_room`]): a thread's start (tens of microseconds) is not added to a
//! host's batch call that has the room.

use std::cell::Cell;

/// The stack the kernel exports want left on their caller's: their largest need measured is
/// 80 KiB (the batch verify's first call, AVX-512 IFMA, a black-box test of stop 74), and a
/// GPU backend's driver calls are not ours to measure — 512 KiB leaves them room, and is less
/// than any default thread's (glibc's 8 MiB, Rust's 2 MiB, a JVM's 1 MiB).
pub(crate) const KERNEL_STACK_ROOM: usize = 512 << 10;

/// The stack of the threads work runs on here, whatever `RUST_MIN_STACK` says (a host that
/// set it to 64 KiB gave them 64 KiB: found in review, stop 74).
const OWN_STACK: usize = 2 << 20;

/// Runs `work` on a thread of its own, named `name`, with a stack of [`OWN_STACK`], and waits
/// for it. A panic goes on from the caller's thread, where the C boundary catches it; where no
/// thread can be started (a process at its thread limit) `work` runs on the caller's. The
/// thread drops the lines it logs where the caller is inside the log sink, as the caller would
/// (`crate::log`), and the lines it logged count as the caller's, which the export's flush
/// waits for, a panic's included: since stop 73 open's lines (a store resumed) could reach the
/// host's sink after it returned.
pub(crate) fn on_a_stack_of_its_own<T: Send>(name: &str, work: impl FnOnce() -> T + Send) -> T {
    let work = std::sync::Mutex::new(Some(work));
    let run = || {
        let work = work
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        work.expect("run once")()
    };
    let in_sink = crate::log::in_sink();
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name(name.to_owned())
            .stack_size(OWN_STACK);
        let logged = || {
            crate::log::set_in_sink(in_sink);
            let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
            (done, crate::log::queued_by_this_thread())
        };
        match worker.spawn_scoped(scope, logged) {
            Ok(thread) => {
                let (done, logged) = thread.join().expect("the panic is caught inside");
                crate::log::count_as_queued_here(logged);
                done.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }
            Err(_) => run(),
        }
    })
}

/// Runs `work` on the caller's thread where its stack has `room` bytes left, else on a thread
/// of its own ([`on_a_stack_of_its_own`]). Where the stack's bounds cannot be read (not
/// Linux), on the caller's.
///
/// # Safety
/// `work` is sent to another thread without being `Send`: it may borrow anything that outlives
/// the call (the caller waits for it), but must not hold or use what belongs to the calling
/// thread — a lock's guard, the thread's protection-key rights (`Confinement`), its
/// thread-locals (the last error, the log's) — which the export bodies, reading the host's
/// memory under the header's promise that it stays valid for the call, do not.
pub(crate) unsafe fn with_stack_room<T: Send>(room: usize, work: impl FnOnce() -> T) -> T {
    if room_left().is_none_or(|left| left >= room) {
        return work();
    }
    let work = Sendable(work);
    on_a_stack_of_its_own("tandem-kernel", move || work.run())
}

/// [`crate::boundary::boundary`] for a kernel export: its body [`with_stack_room`] of
/// [`KERNEL_STACK_ROOM`].
///
/// # Safety
/// As for [`with_stack_room`]'s `work`.
pub(crate) unsafe fn kernel_boundary(
    name: &str,
    body: impl FnOnce() -> Result<(), crate::error::FfiError>,
) -> i32 {
    // SAFETY: the caller's promise.
    crate::boundary::boundary(name, || unsafe { with_stack_room(KERNEL_STACK_ROOM, body) })
}

/// An export's body, sent to the thread [`with_stack_room`] runs it on.
struct Sendable<F>(F);

// SAFETY: made only by `with_stack_room`, whose caller promises what sending needs.
unsafe impl<F> Send for Sendable<F> {}

impl<T, F: FnOnce() -> T> Sendable<F> {
    /// Runs the body (a method, so that a closure takes the whole wrapper, not its field).
    fn run(self) -> T {
        (self.0)()
    }
}

thread_local! {
    /// This thread's stack, lowest address and highest, once read.
    static STACK: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

/// Bytes left on this thread's stack below this function's frame, where the bounds can be
/// read; 0 where the frame is not on that stack (a host's fiber, a stack it switched to, whose
/// room cannot be told: the work then goes to a thread of its own).
fn room_left() -> Option<usize> {
    let here = std::hint::black_box(0_u8);
    let here = &here as *const u8 as usize;
    let (low, high) = match STACK.with(Cell::get) {
        Some(bounds) => bounds,
        None => {
            let bounds = stack_bounds()?;
            STACK.with(|s| s.set(Some(bounds)));
            bounds
        }
    };
    Some(if (low..high).contains(&here) {
        here - low
    } else {
        0
    })
}

/// The calling thread's stack, lowest address and highest (glibc and musl:
/// `pthread_getattr_np`; for the main thread glibc reads `/proc/self/maps` and the stack limit,
/// once per thread here).
#[cfg(target_os = "linux")]
fn stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: `attr` is initialised by pthread_getattr_np before it is read, and destroyed
    // once; the out-parameters are locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let got = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        let low = addr as usize;
        (got == 0 && low != 0).then(|| (low, low.saturating_add(size)))
    }
}

#[cfg(not(target_os = "linux"))]
fn stack_bounds() -> Option<(usize, usize)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_stack_is_seen_and_its_work_done_on_a_thread_of_its_own() {
        let thread_of = || std::thread::current().id();
        // A default Rust thread (2 MiB): here.
        let here = std::thread::spawn(move || {
            let caller = thread_of();
            (room_left().unwrap() > KERNEL_STACK_ROOM)
                // SAFETY: the work holds nothing of the calling thread's.
                .then(|| unsafe { with_stack_room(KERNEL_STACK_ROOM, thread_of) } == caller)
        });
        assert_eq!(here.join().unwrap(), Some(true));
        // A thread of 64 KiB: elsewhere, the answer brought back.
        let small = std::thread::Builder::new().stack_size(64 << 10);
        let moved = small
            .spawn(move || {
                let caller = thread_of();
                let left = room_left().unwrap();
                // SAFETY: as above.
                let moved = unsafe { with_stack_room(KERNEL_STACK_ROOM, thread_of) } != caller;
                (left < 64 << 10, moved)
            })
            .unwrap();
        assert_eq!(moved.join().unwrap(), (true, true));
    }
}
