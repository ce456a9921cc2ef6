//! User code that panics leaves the pool whole: the panic propagates to the
//! caller, and no charge, hold or item is lost. Here: `release` on every path
//! that calls it (a put with a release scheduled, `Guard::release`,
//! `schedule_release`, the last handle's drop, an eviction), and code that
//! panics while it holds a guard. (`allocate` panics are in `failures.rs`.)
//!
//! After each panic, the tests check that nothing counts the item any more
//! (`stats()` against the items the managers see alive), that the resource
//! can be got again, and that every one of the pool's charges is usable.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Arc;

use common::{
    assert_every_charge_usable, assert_quiescent, bounded, counts, poll_by_hand, pool_of_max,
    PanicOnRelease, Tracker, LIMIT, RELEASE_PANIC,
};
use futures_lite::future::block_on;
use resourcepool::{Pool, Resource};

/// Runs `body`, which must panic, and returns the message it panicked with.
fn panic_message(body: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(body)).expect_err("no panic");
    match payload.downcast::<&str>() {
        Ok(message) => message.to_string(),
        Err(payload) => *payload.downcast::<String>().unwrap(),
    }
}

/// After a panic: every item the managers see alive is counted idle,
/// allocating or releasing, and none other; `resource` can be got again
/// without waiting; and every charge of the pool is usable.
fn assert_whole(pool: &Pool, tracker: &Arc<Tracker>, resource: &Resource<PanicOnRelease>) {
    assert_eq!(
        tracker.live(),
        tracker.allocations() - tracker.releases(),
        "{:?}",
        pool.stats()
    );
    assert_quiescent(pool, tracker);
    let guard = block_on(resource.try_get()).expect("the resource cannot be got again");
    assert_eq!(guard.key, resource.manager().counting.key);
    drop(guard);
    assert_every_charge_usable(pool, tracker);
    assert_quiescent(pool, tracker);
}

#[test]
fn a_release_panic_in_a_put_with_a_release_scheduled_frees_the_charge() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, other]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(other.get()).unwrap());
        let guard = block_on(resource.get()).unwrap();
        resource.schedule_release().unwrap();
        resource.manager().panics.next();
        assert_eq!(panic_message(|| drop(guard)), RELEASE_PANIC);
        assert!(!resource.is_allocated());
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_eq!(tracker.releases(), 1);
        assert_whole(&pool, &tracker, &resource);
        // Only that put released: the next one keeps the item.
        drop(block_on(resource.get()).unwrap());
        assert!(resource.is_allocated());
    });
}

#[test]
fn a_release_panic_in_guard_release_frees_the_charge_and_the_hold() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, other]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(other.get()).unwrap());
        let guard = block_on(resource.get()).unwrap();
        resource.manager().panics.next();
        assert_eq!(panic_message(|| drop(guard.release())), RELEASE_PANIC);
        assert!(!resource.is_allocated());
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_eq!(tracker.releases(), 1);
        assert_whole(&pool, &tracker, &resource);
    });
}

#[test]
fn a_get_waiting_for_the_hold_goes_on_after_a_release_panic_in_guard_release() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, PanicOnRelease::new);
        let guard = block_on(resource.get()).unwrap();
        let clone = resource.clone();
        let mut waiting = pin!(clone.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        resource.manager().panics.next();
        assert_eq!(panic_message(|| drop(guard.release())), RELEASE_PANIC);
        let guard = block_on(waiting).unwrap();
        assert_eq!(guard.serial, 1, "the waiting get allocates afresh");
        drop(guard);
        assert_whole(&pool, &tracker, &resource);
    });
}

#[test]
fn a_get_waiting_for_capacity_takes_the_charge_of_a_put_whose_release_panicked() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, waiter]) = pool_of_max(1, PanicOnRelease::new);
        let guard = block_on(resource.get()).unwrap();
        let mut waiting = pin!(waiter.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        resource.schedule_release().unwrap();
        resource.manager().panics.next();
        assert_eq!(panic_message(|| drop(guard)), RELEASE_PANIC);
        let guard = block_on(waiting).unwrap();
        assert_eq!(guard.key, 1);
        drop(guard);
        assert_whole(&pool, &tracker, &resource);
    });
}

#[test]
fn a_release_panic_in_schedule_release_of_an_idle_item_frees_the_charge() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, other]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(other.get()).unwrap());
        drop(block_on(resource.get()).unwrap());
        resource.manager().panics.next();
        assert_eq!(
            panic_message(|| drop(resource.schedule_release())),
            RELEASE_PANIC
        );
        assert!(!resource.is_allocated());
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_eq!(tracker.releases(), 1);
        assert_whole(&pool, &tracker, &resource);
    });
}

#[test]
fn a_release_panic_in_the_last_handles_drop_frees_the_charge() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, other]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(other.get()).unwrap());
        drop(block_on(resource.get()).unwrap());
        resource.manager().panics.next();
        assert_eq!(panic_message(|| drop(resource)), RELEASE_PANIC);
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_eq!(tracker.releases(), 1);
        assert_whole(&pool, &tracker, &other);
    });
}

#[test]
fn a_release_panic_in_an_eviction_propagates_from_the_get_and_frees_the_charge() {
    bounded(LIMIT, || {
        let (pool, tracker, [victim, busy, evictor]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(victim.get()).unwrap());
        let busy_guard = block_on(busy.get()).unwrap();
        victim.manager().panics.next();
        assert_eq!(
            panic_message(|| drop(block_on(evictor.get()))),
            RELEASE_PANIC
        );
        assert!(!victim.is_allocated() && !evictor.is_allocated());
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        assert_eq!(tracker.releases(), 1);
        // The evictor's hold was let go, and the victim's charge freed.
        let guard = block_on(evictor.try_get()).expect("the evictor cannot get again");
        assert_eq!(guard.serial, 2);
        drop((guard, busy_guard));
        assert_whole(&pool, &tracker, &victim);
    });
}

#[test]
fn a_panic_while_a_guard_is_held_puts_the_item_back() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, other]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(other.get()).unwrap());
        let message = panic_message(|| {
            let _guard = block_on(resource.get()).unwrap();
            panic!("the caller panicked");
        });
        assert_eq!(message, "the caller panicked");
        assert!(resource.is_allocated());
        assert_eq!(counts(pool.stats()), (0, 2, 0, 0));
        let guard = block_on(resource.try_get()).unwrap();
        assert_eq!(guard.serial, 1, "the item was kept");
        drop(guard);
        assert_eq!(tracker.releases(), 0);
        assert_whole(&pool, &tracker, &resource);
    });
}
