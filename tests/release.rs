//! Releasing items: `Resource::schedule_release` in each state,
//! `Guard::release`, and dropping the last handle of a resource.

mod common;

use std::pin::pin;
use std::sync::Arc;

use common::{
    assert_quiescent, bounded, counts, poll_by_hand, pool_of_max, Counting, Failed, SlowToAllocate,
    Tracker, LIMIT,
};
use futures_lite::future::block_on;
use resourcepool::Pool;

/// Checks that the pool's only charge is free: another resource gets it
/// without evicting anything.
fn assert_the_only_charge_is_free(pool: &Pool, tracker: &Arc<Tracker>) {
    let releases = tracker.releases();
    let other = pool.create(Counting::new(99, tracker));
    drop(block_on(other.try_get()).unwrap());
    assert_eq!(tracker.releases(), releases, "a charge was still taken");
    drop(other);
}

#[test]
fn schedule_release_of_an_idle_resource_releases_now_and_returns_the_managers_error() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        drop(block_on(resource.get()).unwrap());
        *resource.manager().release_result.lock().unwrap() = Err(Failed("hang-up failed"));
        assert_eq!(resource.schedule_release(), Err(Failed("hang-up failed")));
        assert!(!resource.is_allocated());
        assert_eq!((tracker.releases(), tracker.live()), (1, 0));
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_the_only_charge_is_free(&pool, &tracker);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn schedule_release_of_an_idle_resource_returns_ok_when_the_manager_does() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        drop(block_on(resource.get()).unwrap());
        assert_eq!(resource.schedule_release(), Ok(()));
        assert!(!resource.is_allocated());
        assert_eq!(tracker.releases(), 1);
        // The next get allocates afresh.
        assert_eq!(block_on(resource.get()).unwrap().serial, 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn schedule_release_of_a_held_resource_releases_at_the_next_put_once() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let guard = block_on(resource.get()).unwrap();
        *resource.manager().release_result.lock().unwrap() = Err(Failed("hang-up failed"));
        assert_eq!(resource.schedule_release(), Ok(()));
        assert!(resource.is_allocated());
        assert_eq!(tracker.releases(), 0);
        drop(guard);
        assert!(!resource.is_allocated());
        assert_eq!(tracker.releases(), 1);
        // The release error had nowhere to go; the charge was freed anyway.
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_the_only_charge_is_free(&pool, &tracker);
        // Only that put released: the next ones keep the new item.
        for _ in 0..3 {
            assert_eq!(block_on(resource.get()).unwrap().serial, 2);
            assert!(resource.is_allocated());
        }
        assert_eq!((tracker.allocations(), tracker.releases()), (3, 2));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn schedule_release_while_allocating_releases_at_the_next_put() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, SlowToAllocate::new);
        let mut get = pin!(resource.get());
        assert!(poll_by_hand(get.as_mut()).is_pending());
        assert_eq!(pool.stats().allocating, 1);
        assert_eq!(resource.schedule_release(), Ok(()));
        let guard = block_on(get).unwrap();
        assert!(resource.is_allocated());
        drop(guard);
        assert!(!resource.is_allocated());
        assert_eq!(tracker.releases(), 1);
        drop(block_on(resource.get()).unwrap());
        assert!(
            resource.is_allocated(),
            "the release applied to one put only"
        );
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn schedule_release_of_an_unallocated_resource_arms_nothing() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        assert_eq!(resource.schedule_release(), Ok(()));
        drop(block_on(resource.get()).unwrap());
        assert!(
            resource.is_allocated(),
            "a release was armed on a new resource"
        );
        block_on(resource.get()).unwrap().release().unwrap();
        assert_eq!(resource.schedule_release(), Ok(()));
        drop(block_on(resource.get()).unwrap());
        assert!(
            resource.is_allocated(),
            "a release was armed after a release"
        );
        assert_eq!((tracker.allocations(), tracker.releases()), (2, 1));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn schedule_release_of_a_resource_waiting_for_capacity_arms_nothing() {
    bounded(LIMIT, || {
        let (pool, tracker, [holder, waiter]) = pool_of_max(1, Counting::new);
        let guard = block_on(holder.get()).unwrap();
        let mut waiting = pin!(waiter.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        assert_eq!(waiter.schedule_release(), Ok(()));
        drop(guard);
        drop(block_on(waiting).unwrap());
        assert!(waiter.is_allocated());
        assert_eq!(tracker.releases(), 1, "only the holder's item was released");
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn guard_release_returns_what_the_managers_release_returned() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let guard = block_on(resource.get()).unwrap();
        *resource.manager().release_result.lock().unwrap() = Err(Failed("reset by peer"));
        assert_eq!(guard.release(), Err(Failed("reset by peer")));
        *resource.manager().release_result.lock().unwrap() = Ok(());
        let guard = block_on(resource.get()).unwrap();
        assert_eq!(guard.serial, 1);
        assert_eq!(guard.release(), Ok(()));
        assert_eq!((tracker.allocations(), tracker.releases()), (2, 2));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn guard_release_frees_the_charge_and_the_next_get_allocates_afresh() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let mut guard = block_on(resource.get()).unwrap();
        guard.uses = 7;
        *resource.manager().release_result.lock().unwrap() = Err(Failed("reset by peer"));
        assert!(guard.release().is_err());
        assert!(!resource.is_allocated());
        assert_eq!(tracker.live(), 0);
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_the_only_charge_is_free(&pool, &tracker);
        let guard = block_on(resource.get()).unwrap();
        assert_eq!((guard.serial, guard.uses), (2, 0));
        drop(guard);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn dropping_the_last_handle_releases_the_idle_item_and_frees_its_charge() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        drop(block_on(resource.get()).unwrap());
        let clone = resource.clone();
        drop(resource);
        drop(clone);
        assert_eq!((tracker.releases(), tracker.live()), (1, 0));
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_the_only_charge_is_free(&pool, &tracker);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn dropping_one_of_two_handles_keeps_the_item() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let clone = resource.clone();
        drop(block_on(resource.get()).unwrap());
        drop(resource);
        assert!(clone.is_allocated());
        assert_eq!(tracker.releases(), 0);
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_eq!(block_on(clone.get()).unwrap().serial, 0);
        assert_eq!(tracker.allocations(), 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn dropping_the_last_handle_of_an_unallocated_resource_releases_nothing() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(1);
        let pool = Pool::new(1);
        drop(pool.create(Counting::new(0, &tracker)));
        let released_before = pool.create(Counting::new(1, &tracker));
        block_on(released_before.get()).unwrap().release().unwrap();
        drop(released_before);
        assert_eq!((tracker.allocations(), tracker.releases()), (1, 1));
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn the_pool_lives_as_long_as_its_resources() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(1);
        let resource = Pool::new(1).create(Counting::new(0, &tracker));
        drop(block_on(resource.get()).unwrap());
        assert_eq!(resource.pool().stats().idle, 1);
        drop(resource);
        assert_eq!((tracker.releases(), tracker.live()), (1, 0));
    });
}
