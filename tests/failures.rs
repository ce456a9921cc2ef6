//! Phase 3 failing: an `allocate` error is returned as `Error::Allocate` with
//! the manager's error as its source, and a panic propagates; either way the
//! charge is freed and the hold dropped, so other gets go on. (Panics in
//! `release` and in code holding a guard are in `panics.rs`.)

mod common;

use std::error::Error as _;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};

use common::{
    assert_every_charge_usable, assert_quiescent, bounded, counts, poll_by_hand, pool_of_max,
    Counting, Failed, Next, SlowToAllocate, LIMIT,
};
use futures_lite::future::block_on;
use resourcepool::Error;

/// Runs `future` to completion and returns the message it panicked with.
fn panic_message_of<F: Future>(future: Pin<&mut F>) -> String {
    let payload = catch_unwind(AssertUnwindSafe(|| block_on(future)))
        .err()
        .expect("the future did not panic");
    match payload.downcast::<&str>() {
        Ok(message) => message.to_string(),
        Err(payload) => *payload.downcast::<String>().unwrap(),
    }
}

const PANIC_MESSAGE: &str = "allocate panicked on purpose";

#[test]
fn an_allocate_error_is_returned_with_the_managers_error_as_source() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        resource.manager().set_next(Next::Fail);
        let Err(error) = block_on(resource.get()) else {
            panic!("allocate failed, the get did not");
        };
        let source = error.source().expect("Error::Allocate has a source");
        assert_eq!(
            source.downcast_ref::<Failed>(),
            Some(&Failed("allocate failed on purpose"))
        );
        assert!(matches!(
            error,
            Error::Allocate(Failed("allocate failed on purpose"))
        ));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn an_allocate_error_frees_the_charge_and_drops_the_hold() {
    bounded(LIMIT, || {
        let (pool, tracker, [failing, other]) = pool_of_max(1, Counting::new);
        failing.manager().set_next(Next::Fail);
        assert!(block_on(failing.get()).is_err());
        assert!(!failing.is_allocated());
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_eq!(tracker.live(), 0);
        // The charge is free: `other` takes it without waiting.
        drop(block_on(other.try_get()).unwrap());
        // The hold is free: `failing` gets (evicting `other`) without waiting.
        drop(block_on(failing.try_get()).unwrap());
        assert_eq!((tracker.allocations(), tracker.releases()), (2, 1));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_get_waiting_for_the_hold_goes_on_after_an_allocate_error() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, SlowToAllocate::new);
        resource.manager().0.set_next(Next::Fail);
        let mut failing = pin!(resource.get());
        assert!(poll_by_hand(failing.as_mut()).is_pending());
        let clone = resource.clone();
        let mut waiting = pin!(clone.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        assert!(matches!(block_on(failing), Err(Error::Allocate(_))));
        let guard = block_on(waiting).unwrap();
        assert_eq!(guard.serial, 0);
        drop(guard);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_get_waiting_for_capacity_goes_on_after_an_allocate_error() {
    bounded(LIMIT, || {
        let (pool, tracker, [failing, other]) = pool_of_max(1, SlowToAllocate::new);
        failing.manager().0.set_next(Next::Fail);
        let mut failing_get = pin!(failing.get());
        assert!(poll_by_hand(failing_get.as_mut()).is_pending());
        let mut waiting = pin!(other.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        assert_eq!(pool.stats().allocating, 1);
        assert!(matches!(block_on(failing_get), Err(Error::Allocate(_))));
        let guard = block_on(waiting).unwrap();
        assert_eq!(guard.key, 1);
        drop(guard);
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn an_allocate_panic_propagates_and_frees_the_charge_and_the_hold() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, other]) = pool_of_max(1, Counting::new);
        resource.manager().set_next(Next::Panic);
        assert_eq!(panic_message_of(pin!(resource.get())), PANIC_MESSAGE);
        assert!(!resource.is_allocated());
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_eq!(tracker.live(), 0);
        drop(block_on(other.try_get()).unwrap());
        // The resource is usable afterwards.
        let guard = block_on(resource.try_get()).unwrap();
        assert_eq!(guard.key, 0);
        drop(guard);
        assert_eq!((tracker.allocations(), tracker.releases()), (2, 1));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_get_waiting_for_the_hold_goes_on_after_an_allocate_panic() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, SlowToAllocate::new);
        resource.manager().0.set_next(Next::Panic);
        let mut panicking = Box::pin(resource.get());
        assert!(poll_by_hand(panicking.as_mut()).is_pending());
        let clone = resource.clone();
        let mut waiting = pin!(clone.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        assert_eq!(panic_message_of(panicking.as_mut()), PANIC_MESSAGE);
        drop(panicking);
        drop(block_on(waiting).unwrap());
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_get_waiting_for_capacity_goes_on_after_an_allocate_panic() {
    bounded(LIMIT, || {
        let (pool, tracker, [panicking, other]) = pool_of_max(1, SlowToAllocate::new);
        panicking.manager().0.set_next(Next::Panic);
        let mut panicking_get = Box::pin(panicking.get());
        assert!(poll_by_hand(panicking_get.as_mut()).is_pending());
        let mut waiting = pin!(other.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        assert_eq!(panic_message_of(panicking_get.as_mut()), PANIC_MESSAGE);
        drop(panicking_get);
        drop(block_on(waiting).unwrap());
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn an_allocate_panic_after_an_eviction_frees_the_charge_the_victim_passed_on() {
    bounded(LIMIT, || {
        let (pool, tracker, [victim, busy, panicking]) = pool_of_max(2, Counting::new);
        drop(block_on(victim.get()).unwrap());
        let busy_guard = block_on(busy.get()).unwrap();
        panicking.manager().set_next(Next::Panic);
        assert_eq!(panic_message_of(pin!(panicking.get())), PANIC_MESSAGE);
        // The victim was evicted (released once), and its charge, which had
        // passed to the panicking get, is free again.
        assert!(!victim.is_allocated() && !panicking.is_allocated());
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        assert_eq!((tracker.allocations(), tracker.releases()), (2, 1));
        drop(busy_guard);
        assert_every_charge_usable(&pool, &tracker);
        let guard = block_on(panicking.try_get()).unwrap();
        assert_eq!(guard.key, 2);
        drop(guard);
        assert_eq!(tracker.live(), tracker.allocations() - tracker.releases());
        assert_quiescent(&pool, &tracker);
    });
}
