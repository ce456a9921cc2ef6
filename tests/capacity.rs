//! Phase 2 of `get`, capacity: an idle item is reused, else a free charge is
//! taken, else the least recently used idle resource is evicted, else the get
//! waits for a put or a release. Live items never exceed `max`.

mod common;

use std::pin::pin;
use std::sync::{Arc, Mutex};

use common::{
    assert_quiescent, bounded, counts, on_tokio, poll_by_hand, pool_of_max, Counting, LIMIT,
};
use futures_lite::future::block_on;

#[test]
fn an_idle_allocated_resource_is_taken_at_once_without_allocating() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        drop(block_on(resource.get()).unwrap());
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        let guard = block_on(resource.get()).unwrap();
        assert_eq!(guard.serial, 0);
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        drop(guard);
        assert_eq!(tracker.allocations(), 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_free_charge_is_used_before_evicting_an_idle_resource() {
    bounded(LIMIT, || {
        let (pool, tracker, [first, second]) = pool_of_max(2, Counting::new);
        drop(block_on(first.get()).unwrap());
        drop(block_on(second.get()).unwrap());
        assert!(first.is_allocated() && second.is_allocated());
        assert_eq!((tracker.allocations(), tracker.releases()), (2, 0));
        assert_eq!(counts(pool.stats()), (0, 2, 0, 0));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn with_no_free_charge_the_least_recently_used_idle_resource_is_evicted_and_its_charge_passes() {
    bounded(LIMIT, || {
        let released = Arc::new(Mutex::new(Vec::new()));
        let (pool, tracker, [first, second, third]) = pool_of_max(2, |key, tracker| {
            Counting::new(key, tracker).logging(&released)
        });
        drop(block_on(first.get()).unwrap());
        drop(block_on(second.get()).unwrap());
        let guard = block_on(third.get()).unwrap();
        assert_eq!(*released.lock().unwrap(), [0]);
        assert!(!first.is_allocated() && second.is_allocated());
        assert_eq!(counts(pool.stats()), (1, 1, 0, 0));
        assert_eq!(tracker.live(), 2);
        drop(guard);
        assert_eq!(counts(pool.stats()), (0, 2, 0, 0));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn with_nothing_idle_a_get_waits_until_a_put() {
    bounded(LIMIT, || {
        let (pool, tracker, [holder, waiter]) = pool_of_max(1, Counting::new);
        let guard = block_on(holder.get()).unwrap();
        let mut waiting = pin!(waiter.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        assert_eq!(tracker.allocations(), 1);
        drop(guard);
        let guard = block_on(waiting).unwrap();
        assert_eq!(guard.key, 1);
        assert!(!holder.is_allocated());
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        drop(guard);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn with_nothing_idle_a_get_waits_until_a_release() {
    bounded(LIMIT, || {
        let (pool, tracker, [holder, waiter]) = pool_of_max(1, Counting::new);
        let guard = block_on(holder.get()).unwrap();
        let mut waiting = pin!(waiter.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        guard.release().unwrap();
        let guard = block_on(waiting).unwrap();
        assert_eq!(guard.key, 1);
        drop(guard);
        assert_eq!((tracker.allocations(), tracker.releases()), (2, 1));
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn live_items_never_exceed_max() {
    const MAX: usize = 3;
    const RESOURCES: usize = 12;
    const CYCLES: usize = 60;
    let (pool, tracker) = on_tokio(|| async {
        let (pool, tracker, resources) = pool_of_max::<_, RESOURCES>(MAX, Counting::new);
        let tasks: Vec<_> = (0..RESOURCES)
            .map(|task| {
                let resources = resources.clone();
                tokio::spawn(async move {
                    for cycle in 0..CYCLES {
                        let resource = &resources[(task + cycle) % RESOURCES];
                        let guard = resource.get().await.unwrap();
                        tokio::task::yield_now().await;
                        if cycle % 5 == 0 {
                            guard.release().unwrap();
                        } else {
                            drop(guard);
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        (pool, tracker)
    });
    tracker.assert_never_exceeded();
    assert_eq!(pool.stats().idle, tracker.live());
    assert_quiescent(&pool, &tracker);
}
