//! Fail points: named places in the stages where a test holds a thread, so that an order of
//! events between stages that timing alone makes rare happens every time.
//!
//! A stage calls `hold` at a point; a test `arm`s it, waits until a thread has reached it
//! (`Armed::wait_reached`), does what must happen meanwhile, and lets it go
//! (`Armed::release`, or by dropping it). Only with the `fail-points` feature, which no build
//! but the tests that ask for it turns on (`make test` runs them, `make fail-points` alone):
//! without it `hold` is empty and there is nothing to arm.
//!
//! The points are global to the process: a test binary that arms one runs no other engine
//! beside it (its tests take `serial`).

/// Before the VED's vote point of a boundary block the UED executed whole (the VED counts its
/// votes there, after the UED's answer).
pub const VED_VOTE_AFTER_A_WHOLE_BOUNDARY: &str = "ved: vote point after a boundary run whole";

/// In the UED, after it committed and indexed a slot, before the slot's UED hash reaches the
/// cluster view (`Shared::agree`) and is published.
pub const UED_BEFORE_ITS_HASH_JOINS_THE_CLUSTER_VIEW: &str =
    "ued: before the slot's hash joins the cluster view";

/// In the VED's vote point, after the engine was found not halted, before the vote hook runs.
pub const VED_VOTE_AFTER_THE_HALT_CHECK: &str = "ved: vote point after the halt check";

/// In `Shared::raise` of the engine's first halt: the alert queued for `poll_alert` and the
/// halt's reason set, before the halt file is written (and fsynced) and the alert handed to the
/// alert hook.
pub const RAISE_FIRST_BEFORE_THE_HALT_FILE: &str = "raise: first halt, before its file";

/// In `Engine::transaction`, on the host's thread: the transaction read from the indexes (the
/// status files' window as it stood then), before its confirmation is read from the cluster view.
pub const ANSWER_AFTER_THE_INDEX: &str = "answer: after the index, before the confirmation";

#[cfg(feature = "fail-points")]
pub use armed::{Armed, arm, serial};

/// Holds the calling thread at the point `name` while a test has it armed, once; without the
/// `fail-points` feature, nothing.
#[inline(always)]
pub(crate) fn hold(name: &'static str) {
    #[cfg(feature = "fail-points")]
    armed::hold(name);
    #[cfg(not(feature = "fail-points"))]
    let _ = name;
}

#[cfg(feature = "fail-points")]
mod armed {
    use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
    use std::time::{Duration, Instant};

    /// A point's state: whether a thread reached it, whether the test let it go.
    #[derive(Default)]
    struct Point {
        state: Mutex<(bool, bool)>,
        changed: Condvar,
    }

    impl Point {
        fn state(&self) -> MutexGuard<'_, (bool, bool)> {
            self.state.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    /// The armed points, by name.
    static ARMED: Mutex<Vec<(&'static str, Arc<Point>)>> = Mutex::new(Vec::new());

    fn armed() -> MutexGuard<'static, Vec<(&'static str, Arc<Point>)>> {
        ARMED.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One test at a time for the tests of a binary that arm points: hold the guard.
    pub fn serial() -> MutexGuard<'static, ()> {
        static SERIAL: Mutex<()> = Mutex::new(());
        SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The point `name`, armed: the first thread to reach it waits there until it is
    /// released. Panics if it is armed already.
    pub fn arm(name: &'static str) -> Armed {
        let mut armed = armed();
        assert!(
            armed.iter().all(|(n, _)| *n != name),
            "the fail point {name:?} is armed already"
        );
        let point = Arc::new(Point::default());
        armed.push((name, Arc::clone(&point)));
        Armed { name, point }
    }

    /// An armed point; dropped, it is released and disarmed.
    pub struct Armed {
        name: &'static str,
        point: Arc<Point>,
    }

    impl Armed {
        /// Waits up to `timeout` for a thread to reach the point; whether one did.
        pub fn wait_reached(&self, timeout: Duration) -> bool {
            let deadline = Instant::now() + timeout;
            let mut state = self.point.state();
            while !state.0 {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                state = (self.point.changed.wait_timeout(state, left))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            true
        }

        /// Lets the thread held at the point (and any that comes after) go on.
        pub fn release(self) {}
    }

    impl Drop for Armed {
        fn drop(&mut self) {
            armed().retain(|(n, _)| *n != self.name);
            self.point.state().1 = true;
            self.point.changed.notify_all();
        }
    }

    /// Holds the calling thread at `name` until released, if armed and not yet released.
    pub(super) fn hold(name: &'static str) {
        let point = armed()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| Arc::clone(p));
        let Some(point) = point else { return };
        let mut state = point.state();
        state.0 = true;
        point.changed.notify_all();
        while !state.1 {
            state = point
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}
