//! Defects of the Go original that this crate must not repeat, and the rules
//! about an item whose release is in flight on another thread: it counts in
//! `stats().releasing`, its charge passes on only when `release` returns, and
//! its own resource allocates anew only after that.

mod common;

use std::future::{ready, Future};
use std::pin::{pin, Pin};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use common::{assert_quiescent, bounded, Counting, Failed, Item, Tracker, LIMIT};
use futures_lite::future::block_on;
use resourcepool::{AllocateRelease, Error, Pool, Stats};

/// Polls `future` once, with a waker that does nothing.
fn poll_by_hand<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// `(in_use, idle, allocating, releasing)`.
fn counts(stats: Stats) -> (usize, usize, usize, usize) {
    (stats.in_use, stats.idle, stats.allocating, stats.releasing)
}

/// A `Counting` whose first `release` may be made to block until the test
/// lets it return.
struct GatedRelease {
    counting: Counting,
    gate: Mutex<Option<ReleaseGate>>,
}

/// The manager's side of the gate.
struct ReleaseGate {
    entered: Sender<()>,
    proceed: Receiver<()>,
}

/// The test's side of the gate.
struct GateControl {
    /// Receives once the gated `release` has started.
    entered: Receiver<()>,
    /// Lets the gated `release` return.
    proceed: Sender<()>,
}

impl GatedRelease {
    fn plain(key: usize, tracker: &Arc<Tracker>) -> GatedRelease {
        GatedRelease {
            counting: Counting::new(key, tracker),
            gate: Mutex::new(None),
        }
    }

    fn gated(key: usize, tracker: &Arc<Tracker>) -> (GatedRelease, GateControl) {
        let (entered_sender, entered) = channel();
        let (proceed, proceed_receiver) = channel();
        let manager = GatedRelease {
            counting: Counting::new(key, tracker),
            gate: Mutex::new(Some(ReleaseGate {
                entered: entered_sender,
                proceed: proceed_receiver,
            })),
        };
        (manager, GateControl { entered, proceed })
    }
}

impl AllocateRelease for GatedRelease {
    type Item = Item;
    type Error = Failed;

    async fn allocate(&self) -> Result<Item, Failed> {
        self.counting.allocate().await
    }

    fn release(&self, item: Item) -> Result<(), Failed> {
        let gate = self.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            let _ = gate.entered.send(());
            // A test that is gone (failed) lets the release return.
            let _ = gate.proceed.recv();
        }
        self.counting.release(item)
    }
}

#[test]
fn schedule_release_applies_to_the_next_put_only_not_every_later_put() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(1);
        let pool = Pool::new(1);
        let resource = pool.create(Counting::new(0, &tracker));
        let guard = block_on(resource.get()).unwrap();
        resource.schedule_release().unwrap();
        drop(guard);
        assert_eq!(tracker.releases(), 1);
        for cycle in 0..5 {
            drop(block_on(resource.get()).unwrap());
            assert!(resource.is_allocated(), "cycle {cycle}: the put released");
        }
        assert_eq!((tracker.allocations(), tracker.releases()), (2, 1));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_get_waits_for_a_release_in_flight_instead_of_panicking() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(2);
        let pool = Pool::new(2);
        let (manager, gate) = GatedRelease::gated(0, &tracker);
        let released = pool.create(manager);
        let held = pool.create(GatedRelease::plain(1, &tracker));
        let waiter = pool.create(GatedRelease::plain(2, &tracker));
        drop(block_on(released.get()).unwrap());
        let held_guard = block_on(held.get()).unwrap();
        let releaser = {
            let released = released.clone();
            thread::spawn(move || released.schedule_release())
        };
        gate.entered.recv().unwrap();
        assert!(!released.is_allocated());
        assert_eq!(counts(pool.stats()), (1, 0, 0, 1));
        // Go panics "No free resource to release" here.
        let mut get = pin!(waiter.get());
        assert!(poll_by_hand(get.as_mut()).is_pending());
        assert!(poll_by_hand(get.as_mut()).is_pending());
        assert_eq!(tracker.live(), 2);
        gate.proceed.send(()).unwrap();
        assert_eq!(releaser.join().unwrap(), Ok(()));
        let guard = block_on(get).unwrap();
        assert_eq!(guard.key, 2);
        assert_eq!(counts(pool.stats()), (2, 0, 0, 0));
        drop((guard, held_guard));
        assert_eq!((tracker.allocations(), tracker.releases()), (3, 1));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn with_max_one_a_get_waits_for_the_only_item_being_released() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(1);
        let pool = Pool::new(1);
        let (manager, gate) = GatedRelease::gated(0, &tracker);
        let released = pool.create(manager);
        let waiter = pool.create(GatedRelease::plain(1, &tracker));
        drop(block_on(released.get()).unwrap());
        let releaser = {
            let released = released.clone();
            thread::spawn(move || released.schedule_release())
        };
        gate.entered.recv().unwrap();
        assert!(matches!(
            block_on(waiter.try_get()),
            Err(Error::ResourceLimitExceeded)
        ));
        let mut get = pin!(waiter.get());
        assert!(poll_by_hand(get.as_mut()).is_pending());
        gate.proceed.send(()).unwrap();
        assert_eq!(releaser.join().unwrap(), Ok(()));
        drop(block_on(get).unwrap());
        tracker.assert_never_exceeded();
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_resource_released_on_another_thread_allocates_anew_only_after_that_release_returned() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(1);
        let pool = Pool::new(1);
        let (manager, gate) = GatedRelease::gated(0, &tracker);
        let resource = pool.create(manager);
        drop(block_on(resource.get()).unwrap());
        let releaser = {
            let resource = resource.clone();
            thread::spawn(move || resource.schedule_release())
        };
        gate.entered.recv().unwrap();
        assert!(!resource.is_allocated());
        assert_eq!(counts(pool.stats()), (0, 0, 0, 1));
        // Waiting for its own release belongs to phase 2.
        assert!(matches!(
            block_on(resource.try_get()),
            Err(Error::ResourceLimitExceeded)
        ));
        assert!(matches!(
            block_on(resource.get_or_cancel(ready(()))),
            Err(Error::ResourceLimitExceeded)
        ));
        let mut get = pin!(resource.get());
        assert!(poll_by_hand(get.as_mut()).is_pending());
        assert!(poll_by_hand(get.as_mut()).is_pending());
        assert!(!resource.is_allocated());
        assert_eq!(tracker.allocations(), 1);
        gate.proceed.send(()).unwrap();
        assert_eq!(releaser.join().unwrap(), Ok(()));
        let guard = block_on(get).unwrap();
        assert_eq!(guard.serial, 1);
        drop(guard);
        tracker.assert_never_exceeded();
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_resource_being_evicted_allocates_anew_only_after_its_release_returned() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(1);
        let pool = Pool::new(1);
        let (manager, gate) = GatedRelease::gated(0, &tracker);
        let evicted = pool.create(manager);
        let evictor = pool.create(GatedRelease::plain(1, &tracker));
        drop(block_on(evicted.get()).unwrap());
        let evicting = {
            let evictor = evictor.clone();
            thread::spawn(move || block_on(evictor.get()).map(|guard| guard.serial))
        };
        gate.entered.recv().unwrap();
        assert!(!evicted.is_allocated());
        let stats = pool.stats();
        assert_eq!((stats.idle, stats.releasing), (0, 1), "{stats:?}");
        let mut get = pin!(evicted.get());
        assert!(poll_by_hand(get.as_mut()).is_pending());
        assert!(!evicted.is_allocated());
        assert_eq!(tracker.allocations(), 1);
        gate.proceed.send(()).unwrap();
        assert_eq!(evicting.join().unwrap().unwrap(), 1);
        let guard = block_on(get).unwrap();
        assert_eq!((guard.key, guard.serial), (0, 2));
        drop(guard);
        assert_eq!(tracker.releases(), 2);
        tracker.assert_never_exceeded();
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn stats_count_an_item_whose_release_is_in_flight_as_releasing() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(1);
        let pool = Pool::new(1);
        let (manager, gate) = GatedRelease::gated(0, &tracker);
        let resource = pool.create(manager);
        let releaser = {
            let resource = resource.clone();
            thread::spawn(move || block_on(resource.get()).unwrap().release())
        };
        gate.entered.recv().unwrap();
        assert_eq!(counts(pool.stats()), (0, 0, 0, 1));
        assert_eq!(tracker.live(), 1);
        assert_quiescent(&pool, &tracker);
        gate.proceed.send(()).unwrap();
        assert_eq!(releaser.join().unwrap(), Ok(()));
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_quiescent(&pool, &tracker);
    });
}
