//! The delivery of alerts (halts, SPEC §6) to the host's hook, in the order raised, without
//! the raising stage waiting for the hook, and never before a vote point the VED was handing
//! out as the halt came.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use super::config::AlertHook;
use crate::cluster::Alert;

/// Calls the host's alert hook ([`EngineHooks::on_alert`](super::EngineHooks::on_alert)) with each
/// alert, in the order they were raised, without making the thread that raises one wait for the
/// hook: a thread finding the hook busy (another thread's alert in it) leaves its alert to that
/// thread, which calls the hook again once it returns. Before, a raise waited for the hook's lock:
/// a VED hook asking for an account ([`Engine::account`](super::Engine::account), which the UED's
/// thread answers) while the UED raised an alert of its own waited for ever.
///
/// A [`DeliveryHold`] holds the queued alerts back, and the thread that lets the last hold go
/// delivers them: the first halt holds them while its file is written (a second alert raised
/// meanwhile reached the hook first, found in review, stop 71), and the VED while it hands a
/// vote point to its hook, having found the engine not halted (a halt between the two had its
/// alert delivered before that vote).
pub(super) struct AlertDelivery {
    pub(super) hook: Mutex<Option<AlertHook>>,
    queue: Mutex<Queued>,
}

/// The alerts not yet handed to the hook, and the holds on them.
#[derive(Default)]
struct Queued {
    alerts: VecDeque<Alert>,
    holds: usize,
}

/// Holds the delivery of alerts back while it lives ([`AlertDelivery`]); dropped, it delivers
/// those queued meanwhile, unless another hold is on.
#[must_use = "the alerts are held back only while the hold lives"]
pub(super) struct DeliveryHold<'a>(&'a AlertDelivery);

impl Drop for DeliveryHold<'_> {
    fn drop(&mut self) {
        self.0.queue().holds -= 1;
        // Not while a hook's panic unwinds the thread: the alert hook, panicking too (a host
        // lock the first panic poisoned), would abort the process; the engine stops on the
        // first (`Failure::Panicked`), and the alerts stay for `Engine::poll_alert`.
        if !std::thread::panicking() {
            self.0.deliver_queued();
        }
    }
}

impl AlertDelivery {
    pub(super) fn new(hook: Option<AlertHook>) -> AlertDelivery {
        AlertDelivery {
            hook: Mutex::new(hook),
            queue: Mutex::new(Queued::default()),
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queued> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `alert` for the hook, holding the delivery back ([`DeliveryHold`]) when `hold`:
    /// the caller delivers it with [`AlertDelivery::deliver_queued`] or by dropping the hold.
    /// The queue's order is the calls' (the engine makes them under the lock of its own
    /// queue, `poll_alert`'s, so that both give one order).
    pub(super) fn enqueue(&self, alert: Alert, hold: bool) -> Option<DeliveryHold<'_>> {
        let mut queue = self.queue();
        queue.alerts.push_back(alert);
        hold.then(|| {
            queue.holds += 1;
            DeliveryHold(self)
        })
    }

    /// Holds the delivery back while the hold lives ([`DeliveryHold`]).
    pub(super) fn hold(&self) -> DeliveryHold<'_> {
        self.queue().holds += 1;
        DeliveryHold(self)
    }

    /// Hands the queued alerts to the hook, now on this thread or soon on the one calling it
    /// or letting the last hold go.
    pub(super) fn deliver_queued(&self) {
        let due = || {
            let queue = self.queue();
            queue.holds == 0 && !queue.alerts.is_empty()
        };
        // An alert queued after the holder's last look at the queue, but before it let go of
        // the hook, finds the hook free on the next turn.
        while due() {
            let mut hook = match self.hook.try_lock() {
                Ok(hook) => hook,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return, // the holder delivers it
            };
            loop {
                // (Its own statement: the queue's lock is let go before the hook runs.)
                let next = {
                    let mut queue = self.queue();
                    if queue.holds > 0 {
                        None // the last hold's thread delivers the rest
                    } else {
                        queue.alerts.pop_front()
                    }
                };
                let Some(alert) = next else { break };
                if let Some(hook) = hook.as_mut() {
                    hook(&alert);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    use crossbeam_channel::bounded;

    fn deliver(delivery: &AlertDelivery, alert: Alert) {
        let _ = delivery.enqueue(alert, false);
        delivery.deliver_queued();
    }

    #[test]
    fn a_stage_raising_an_alert_while_the_hook_runs_another_does_not_wait_for_it() {
        // Stage A's alert is in the hook, which waits (as a hook asking the UED's thread for an
        // account would); stage B raises another: it goes on at once, and the hook gets both,
        // in order, on A's thread. Before, B waited for the hook's lock.
        let lag = |slot| Alert::UedLagging {
            boundary_slot: slot,
            ued_slot: 0,
            waited: Duration::from_secs(1),
        };
        let (entered, hook_entered) = bounded::<()>(1);
        let (release, released) = bounded::<()>(1);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen_by_hook = Arc::clone(&seen);
        let delivery = Arc::new(AlertDelivery::new(Some(Box::new(move |alert: &Alert| {
            let Alert::UedLagging { boundary_slot, .. } = alert else {
                unreachable!("lag alerts only")
            };
            seen_by_hook.lock().unwrap().push(*boundary_slot);
            if *boundary_slot == 32 {
                entered.send(()).unwrap();
                released.recv().unwrap();
            }
        }))));
        let a = {
            let delivery = Arc::clone(&delivery);
            std::thread::spawn(move || deliver(&delivery, lag(32)))
        };
        hook_entered.recv().unwrap();
        let (done, b_done) = bounded::<()>(1);
        let b = {
            let delivery = Arc::clone(&delivery);
            std::thread::spawn(move || {
                deliver(&delivery, lag(64));
                done.send(()).unwrap();
            })
        };
        assert!(
            b_done.recv_timeout(Duration::from_secs(10)).is_ok(),
            "stage B waited for the hook"
        );
        release.send(()).unwrap();
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(*seen.lock().unwrap(), [32, 64]);
    }

    #[test]
    fn a_hold_a_panic_lets_go_hands_no_alert_to_the_hook() {
        // The VED holds the alerts through its vote hook; were that hook to panic with an
        // alert queued, the unwinding called the alert hook — which, panicking too (a host lock
        // the first panic poisoned), aborted the process.
        let delivered = Arc::new(Mutex::new(0));
        let by_hook = Arc::clone(&delivered);
        let delivery = AlertDelivery::new(Some(Box::new(move |_: &Alert| {
            *by_hook.lock().unwrap() += 1;
        })));
        let alert = Alert::UedLagging {
            boundary_slot: 32,
            ued_slot: 0,
            waited: Duration::from_secs(1),
        };
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _held = delivery.hold();
            deliver(&delivery, alert);
            panic!("the vote hook panics");
        }));
        assert!(unwound.is_err());
        assert_eq!(
            *delivered.lock().unwrap(),
            0,
            "no hook called while unwinding"
        );
        // Kept: the next delivery hands it over.
        delivery.deliver_queued();
        assert_eq!(*delivered.lock().unwrap(), 1);
    }
}
