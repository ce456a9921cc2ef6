//! The API's promises beyond the phases: `Pool::new(0)` panics, futures and
//! guards are `Send`, `Resource` is `Clone` whatever the manager, one pool
//! serves managers of different types, `get_blocking` works outside async, and
//! `stats` reports each state of an item.

mod common;

use std::future::ready;
use std::pin::pin;
use std::sync::{Arc, Mutex};

use common::{
    assert_quiescent, bounded, counts, on_tokio, poll_by_hand, pool_of_max, Counting, Item,
    Tracker, LIMIT,
};
use futures_lite::future::{block_on, yield_now};
use resourcepool::{AllocateRelease, Error, Pool, Resource};

fn assert_send<T: Send>(_: &T) {}

/// A manager of another type than `Counting`, with another item and error
/// type, whose `allocate` is pending on its first poll. It is not `Clone`.
struct Boxed(Counting);

impl AllocateRelease for Boxed {
    type Item = Box<Item>;
    type Error = std::io::Error;

    async fn allocate(&self) -> Result<Box<Item>, std::io::Error> {
        yield_now().await;
        self.0
            .allocate()
            .await
            .map(Box::new)
            .map_err(std::io::Error::other)
    }

    fn release(&self, item: Box<Item>) -> Result<(), std::io::Error> {
        self.0.release(*item).map_err(std::io::Error::other)
    }
}

#[test]
#[should_panic(expected = "max must be at least 1")]
fn pool_new_with_zero_max_panics_with_a_clear_message() {
    let _ = Pool::new(0);
}

#[test]
fn futures_and_guards_are_send() {
    let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
    assert_send(&pool);
    assert_send(&resource);
    assert_send(&resource.get());
    assert_send(&resource.get_or_cancel(ready(())));
    assert_send(&resource.try_get());
    let guard = block_on(resource.get()).unwrap();
    assert_send(&guard);
    drop(guard);
    let boxed = pool.create(Boxed(Counting::new(1, &tracker)));
    assert_send(&boxed.get());
}

#[test]
fn guards_are_held_across_await_on_tokio_multi_thread() {
    const TASKS: usize = 6;
    const CYCLES: usize = 20;
    let (pool, tracker, uses) = on_tokio(|| async {
        let (pool, tracker, resources) = pool_of_max::<_, 2>(2, Counting::new);
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let resource = resources[task % resources.len()].clone();
                tokio::spawn(async move {
                    for _ in 0..CYCLES {
                        let cancel = tokio::time::sleep(std::time::Duration::from_secs(60));
                        let mut guard = resource.get_or_cancel(cancel).await.unwrap();
                        tokio::task::yield_now().await;
                        guard.uses += 1;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let mut uses = 0;
        for resource in &resources {
            uses += resource.get().await.unwrap().uses;
        }
        (pool, tracker, uses)
    });
    assert_eq!(uses, TASKS * CYCLES, "an item was lost or replaced");
    assert_eq!(tracker.allocations(), 2);
    assert_quiescent(&pool, &tracker);
}

#[test]
fn resource_is_clone_without_a_clone_manager() {
    fn assert_clone<T: Clone>() {}
    assert_clone::<Resource<Boxed>>();
    assert_clone::<Resource<Counting>>();
    bounded(LIMIT, || {
        let tracker = Tracker::new(1);
        let pool = Pool::new(1);
        let resource = pool.create(Boxed(Counting::new(0, &tracker)));
        let clone = resource.clone();
        drop(block_on(resource.get()).unwrap());
        assert!(clone.is_allocated());
        assert_eq!(clone.manager().0.key, 0);
        assert_eq!(clone.pool().max(), 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn managers_of_different_types_share_one_limit_and_evict_each_other() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(2);
        let released = Arc::new(Mutex::new(Vec::new()));
        let pool = Pool::new(2);
        let counting = |key| pool.create(Counting::new(key, &tracker).logging(&released));
        let boxed = |key| pool.create(Boxed(Counting::new(key, &tracker).logging(&released)));
        let (first, second) = (counting(0), boxed(1));
        drop(block_on(first.get()).unwrap());
        drop(block_on(second.get()).unwrap());
        let (third, fourth) = (boxed(2), counting(3));
        let third_guard = block_on(third.get()).unwrap();
        assert_eq!(
            *released.lock().unwrap(),
            [0],
            "a boxed get evicts a counting item"
        );
        let fourth_guard = block_on(fourth.get()).unwrap();
        assert_eq!(*released.lock().unwrap(), [0, 1], "and the other way round");
        assert!(matches!(
            block_on(counting(4).try_get()),
            Err(Error::ResourceLimitExceeded)
        ));
        assert!(matches!(
            block_on(boxed(5).try_get()),
            Err(Error::ResourceLimitExceeded)
        ));
        assert_eq!(counts(pool.stats()), (2, 0, 0, 0));
        drop((third_guard, fourth_guard));
        tracker.assert_never_exceeded();
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn get_blocking_waits_for_the_guard_by_blocking_the_thread() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let mut guard = resource.get_blocking().unwrap();
        guard.uses = 5;
        let blocked = {
            let resource = resource.clone();
            std::thread::spawn(move || resource.get_blocking().map(|guard| guard.uses))
        };
        drop(guard);
        assert_eq!(blocked.join().unwrap().unwrap(), 5);
        assert_eq!(tracker.allocations(), 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn stats_report_max_and_each_state_of_an_item() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(3);
        let pool = Pool::new(3);
        assert_eq!(pool.stats().max, 3);
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        let resource = pool.create(Boxed(Counting::new(0, &tracker)));
        assert_eq!(
            counts(pool.stats()),
            (0, 0, 0, 0),
            "create allocates nothing"
        );
        let mut get = pin!(resource.get());
        assert!(poll_by_hand(get.as_mut()).is_pending());
        assert_eq!(counts(pool.stats()), (1, 0, 1, 0), "allocating");
        let guard = block_on(get).unwrap();
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0), "in use");
        drop(guard);
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0), "idle");
        let other = pool.create(Counting::new(1, &tracker));
        let other_guard = block_on(other.get()).unwrap();
        assert_eq!(counts(pool.stats()), (1, 1, 0, 0), "one in use, one idle");
        other_guard.release().unwrap();
        resource.schedule_release().unwrap();
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0), "released");
        assert_eq!(pool.stats().max, 3);
        assert_quiescent(&pool, &tracker);
    });
}
