//! Phase 1 of `get`, the hold: one `Guard` per resource at a time, shared by
//! all clones; a waiting get takes over the item the put left.

mod common;

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;

use common::{assert_quiescent, bounded, on_tokio, poll_by_hand, pool_of_max, Counting, LIMIT};
use futures_lite::future::block_on;

#[test]
fn a_second_get_waits_until_the_guard_is_put() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let guard = block_on(resource.get()).unwrap();
        let mut second = pin!(resource.get());
        assert!(poll_by_hand(second.as_mut()).is_pending());
        assert!(poll_by_hand(second.as_mut()).is_pending());
        drop(guard);
        let guard = block_on(second).unwrap();
        assert_eq!(guard.serial, 0);
        drop(guard);
        assert_eq!(tracker.allocations(), 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_get_of_a_clone_waits_until_the_guard_of_the_original_is_put() {
    bounded(LIMIT, || {
        let (pool, tracker, [original]) = pool_of_max(1, Counting::new);
        let clone = original.clone();
        let guard = block_on(original.get()).unwrap();
        let mut from_clone = pin!(clone.get());
        assert!(poll_by_hand(from_clone.as_mut()).is_pending());
        drop(guard);
        drop(block_on(from_clone).unwrap());
        assert_eq!(tracker.allocations(), 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_second_get_waits_until_the_guard_is_released_and_then_allocates_afresh() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let guard = block_on(resource.get()).unwrap();
        let mut second = pin!(resource.get());
        assert!(poll_by_hand(second.as_mut()).is_pending());
        guard.release().unwrap();
        let guard = block_on(second).unwrap();
        assert_eq!(guard.serial, 1, "the released item must not come back");
        drop(guard);
        assert_eq!((tracker.allocations(), tracker.releases()), (2, 1));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_waiting_get_takes_the_item_the_put_left_without_allocating() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(2, Counting::new);
        let mut guard = block_on(resource.get()).unwrap();
        guard.uses = 41;
        let clone = resource.clone();
        let mut waiting = pin!(clone.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        drop(guard);
        let mut guard = block_on(waiting).unwrap();
        guard.uses += 1;
        assert_eq!((guard.serial, guard.uses), (0, 42));
        drop(guard);
        assert_eq!((tracker.allocations(), tracker.releases()), (1, 0));
        let stats = pool.stats();
        assert_eq!((stats.in_use, stats.idle), (0, 1));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn only_one_guard_of_a_resource_exists_at_a_time() {
    const TASKS: usize = 8;
    const CYCLES: usize = 100;
    let (pool, tracker, holders_seen) = on_tokio(|| async {
        let (pool, tracker, [resource]) = pool_of_max(2, Counting::new);
        let holders = Arc::new(AtomicUsize::new(0));
        let most_holders = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let resource = resource.clone();
                let holders = holders.clone();
                let most_holders = most_holders.clone();
                tokio::spawn(async move {
                    for _ in 0..CYCLES {
                        let mut guard = resource.get().await.unwrap();
                        let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                        most_holders.fetch_max(now, Ordering::SeqCst);
                        guard.uses += 1;
                        tokio::task::yield_now().await;
                        holders.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(block_on(resource.get()).unwrap().uses, TASKS * CYCLES);
        (pool, tracker, most_holders.load(Ordering::SeqCst))
    });
    assert_eq!(holders_seen, 1);
    assert_eq!(tracker.allocations(), 1);
    assert_quiescent(&pool, &tracker);
}

#[test]
fn every_get_of_an_allocated_idle_resource_is_ready_on_its_first_poll() {
    bounded(LIMIT, || {
        let (pool, tracker, [first, second]) = pool_of_max(2, Counting::new);
        drop(block_on(first.get()).unwrap());
        drop(block_on(second.get()).unwrap());
        // The pool is full of idle items: each get must still not wait.
        for round in 0..3 {
            for resource in [&first, &second, &first.clone()] {
                let mut get = pin!(resource.get());
                let Poll::Ready(Ok(guard)) = poll_by_hand(get.as_mut()) else {
                    panic!("round {round}: the get of an idle resource waited or failed");
                };
                drop(guard);
            }
        }
        assert_eq!((tracker.allocations(), tracker.releases()), (2, 0));
        assert_quiescent(&pool, &tracker);
    });
}
