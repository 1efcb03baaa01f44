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

/// Runs `work` on a thread of its own (Rust's default stack, 2 MiB) and waits for it. A panic
/// goes on from the caller's thread, where the C boundary catches it; where no thread can be
/// started (a process at its thread limit) `work` runs on the caller's. The lines `work`
/// logged count as the caller's, which the export's flush waits for (`crate::log::flush`):
/// since stop 73 open's lines (a store resumed) could reach the host's sink after it returned.
pub(crate) fn on_a_stack_of_its_own<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    let work = std::sync::Mutex::new(Some(work));
    let run = || {
        let work = work
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        work.expect("run once")()
    };
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new().name("tandem-engine".into());
        let logged = || (run(), crate::log::queued_by_this_thread());
        match worker.spawn_scoped(scope, logged) {
            Ok(thread) => {
                let (done, logged) = thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                crate::log::count_as_queued_here(logged);
                done
            }
            Err(_) => run(),
        }
    })
}

/// Runs `work` on the caller's thread where its stack has `room` bytes left, else
/// [`on_a_stack_of_its_own`]. Where the stack's bounds cannot be read, on the caller's.
pub(crate) fn with_stack_room<T: Send>(room: usize, work: impl FnOnce() -> T) -> T {
    if room_left().is_none_or(|left| left >= room) {
        return work();
    }
    let work = Sendable(work);
    // SAFETY (of sending `work`): the caller's thread waits for it (scoped), so whatever it
    // borrows — the host's memory an export reads, under the header's promise that it stays
    // valid for the call — outlives it; an export's body keeps no state of its thread's
    // (the last error and the log flush are the boundary's, on the caller's thread).
    on_a_stack_of_its_own(move || work.run())
}

/// [`crate::boundary::boundary`] for a kernel export: its body [`with_stack_room`] of
/// [`KERNEL_STACK_ROOM`].
pub(crate) fn kernel_boundary(
    name: &str,
    body: impl FnOnce() -> Result<(), crate::error::FfiError>,
) -> i32 {
    crate::boundary::boundary(name, || with_stack_room(KERNEL_STACK_ROOM, body))
}

/// An export's body, sent to the thread [`with_stack_room`] runs it on.
struct Sendable<F>(F);

// SAFETY: see `with_stack_room`, the only maker.
unsafe impl<F> Send for Sendable<F> {}

impl<T, F: FnOnce() -> T> Sendable<F> {
    /// Runs the body (a method, so that a closure takes the whole wrapper, not its field).
    fn run(self) -> T {
        (self.0)()
    }
}

thread_local! {
    /// The lowest address of this thread's stack, once read.
    static STACK_LOW: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Bytes left on this thread's stack below this function's frame, where the bounds can be read.
fn room_left() -> Option<usize> {
    let here = std::hint::black_box(0_u8);
    let here = &here as *const u8 as usize;
    let low = match STACK_LOW.with(Cell::get) {
        Some(low) => low,
        None => {
            let low = stack_low()?;
            STACK_LOW.with(|l| l.set(Some(low)));
            low
        }
    };
    Some(here.saturating_sub(low))
}

/// The lowest address of the calling thread's stack (glibc and musl: `pthread_getattr_np`;
/// for the main thread glibc reads `/proc/self/maps` and the stack limit, once per thread here).
#[cfg(target_os = "linux")]
fn stack_low() -> Option<usize> {
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
        (got == 0 && !addr.is_null()).then_some(addr as usize)
    }
}

#[cfg(not(target_os = "linux"))]
fn stack_low() -> Option<usize> {
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
                .then(|| with_stack_room(KERNEL_STACK_ROOM, thread_of) == caller)
        });
        assert_eq!(here.join().unwrap(), Some(true));
        // A thread of 64 KiB: elsewhere, the answer brought back.
        let small = std::thread::Builder::new().stack_size(64 << 10);
        let moved = small
            .spawn(move || {
                let caller = thread_of();
                let left = room_left().unwrap();
                (
                    left < 64 << 10,
                    with_stack_room(KERNEL_STACK_ROOM, thread_of) != caller,
                )
            })
            .unwrap();
        assert_eq!(moved.join().unwrap(), (true, true));
    }
}
