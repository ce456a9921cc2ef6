//! Defects of the Go original that this crate must not repeat, and the rules
//! about an item whose release is in flight on another thread: it counts in
//! `stats().releasing`, its charge passes on only when `release` returns, and
//! its own resource allocates anew only after that.

mod common;

use std::future::ready;
use std::pin::pin;
use std::thread::{self, JoinHandle};

use common::{
    assert_quiescent, bounded, counts, poll_by_hand, pool_of_max, Counting, Failed, GateControl,
    Gated, LIMIT,
};
use futures_lite::future::block_on;
use resourcepool::{Error, Resource};

/// Calls `schedule_release` of `resource` on another thread, with its
/// manager's `release` held, and returns once that `release` has started. The
/// test lets it return with `proceed`.
fn release_in_flight(resource: &Resource<Gated>) -> (JoinHandle<Result<(), Failed>>, GateControl) {
    let gate = resource.manager().hold_next_release();
    let releaser = {
        let resource = resource.clone();
        thread::spawn(move || resource.schedule_release())
    };
    gate.started.recv().unwrap();
    (releaser, gate)
}

#[test]
fn schedule_release_applies_to_the_next_put_only_not_every_later_put() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
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
        let (pool, tracker, [released, held, waiter]) = pool_of_max(2, Gated::new);
        drop(block_on(released.get()).unwrap());
        let held_guard = block_on(held.get()).unwrap();
        let (releaser, gate) = release_in_flight(&released);
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
        let (pool, tracker, [released, waiter]) = pool_of_max(1, Gated::new);
        drop(block_on(released.get()).unwrap());
        let (releaser, gate) = release_in_flight(&released);
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
        let (pool, tracker, [resource]) = pool_of_max(1, Gated::new);
        drop(block_on(resource.get()).unwrap());
        let (releaser, gate) = release_in_flight(&resource);
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
        let (pool, tracker, [evicted, evictor]) = pool_of_max(1, Gated::new);
        let gate = evicted.manager().hold_next_release();
        drop(block_on(evicted.get()).unwrap());
        let evicting = {
            let evictor = evictor.clone();
            thread::spawn(move || block_on(evictor.get()).map(|guard| guard.serial))
        };
        gate.started.recv().unwrap();
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
        let (pool, tracker, [resource]) = pool_of_max(1, Gated::new);
        let gate = resource.manager().hold_next_release();
        let releaser = {
            let resource = resource.clone();
            thread::spawn(move || block_on(resource.get()).unwrap().release())
        };
        gate.started.recv().unwrap();
        assert_eq!(counts(pool.stats()), (0, 0, 0, 1));
        assert_eq!(tracker.live(), 1);
        assert_quiescent(&pool, &tracker);
        gate.proceed.send(()).unwrap();
        assert_eq!(releaser.join().unwrap(), Ok(()));
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_quiescent(&pool, &tracker);
    });
}
