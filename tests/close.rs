//! `Pool::close` and `Pool::drained`: every get from the close on fails with
//! `Error::Closed`, waiting ones included; idle items are released at the
//! close, the others at their put; an `allocate` in flight finishes; and
//! `drained` resolves once no item is live.

mod common;

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use common::{
    bounded, pool_of_max, Counting, PanicOnRelease, Poller, ReleasePanic, Runner, SlowToAllocate,
    Tracker, LIMIT, RELEASE_PANIC,
};
use futures_lite::future::block_on;
use resourcepool::{Error, Pool};

/// Checks that nothing is live: the pool and the managers agree.
fn assert_drained(pool: &Pool, tracker: &Tracker) {
    block_on(pool.drained());
    let stats = pool.stats();
    assert_eq!(
        (stats.in_use, stats.idle, stats.allocating, stats.releasing),
        (0, 0, 0, 0),
        "{stats:?}"
    );
    assert_eq!(tracker.live(), 0, "an item is still alive");
    assert_eq!(tracker.releases(), tracker.allocations());
}

#[test]
fn every_get_after_the_close_fails_with_closed() {
    bounded(LIMIT, || {
        let (pool, tracker, [a]) = pool_of_max(1, Counting::new);
        assert!(!pool.is_closed());
        pool.close();
        pool.close(); // idempotent
        assert!(pool.is_closed());
        assert!(matches!(block_on(a.get()), Err(Error::Closed)));
        assert!(matches!(block_on(a.try_get()), Err(Error::Closed)));
        let cancel = std::future::pending();
        assert!(matches!(
            block_on(a.get_or_cancel(cancel)),
            Err(Error::Closed)
        ));
        assert!(matches!(a.get_blocking(), Err(Error::Closed)));
        assert_eq!(tracker.allocations(), 0, "a closed pool allocated");
        assert_eq!(format!("{}", Error::<()>::Closed), "pool closed");
        let totals = pool.stats().totals;
        assert_eq!(totals.cancelled, 0, "a refusal for the close is no cancel");
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn the_close_releases_idle_items_at_once() {
    bounded(LIMIT, || {
        let (pool, tracker, resources) = pool_of_max::<_, 3>(3, Counting::new);
        for resource in &resources {
            drop(block_on(resource.get()).unwrap());
        }
        assert_eq!(pool.stats().idle, 3);
        pool.close();
        assert_eq!(tracker.releases(), 3);
        assert!(resources.iter().all(|resource| !resource.is_allocated()));
        assert_eq!(pool.stats().totals.shed, 3);
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_guard_out_at_the_close_is_released_at_its_put() {
    bounded(LIMIT, || {
        let (pool, tracker, [a, b]) = pool_of_max(2, Counting::new);
        let guard = block_on(a.get()).unwrap();
        let owned = block_on(b.get()).unwrap().into_owned();
        pool.close();
        assert_eq!(tracker.releases(), 0, "the close released an item in use");
        assert_eq!(guard.key, 0, "the guard still reaches its item");
        drop(guard);
        assert!(!a.is_allocated());
        assert_eq!(tracker.releases(), 1);
        drop(owned);
        assert_eq!(tracker.releases(), 2);
        assert_eq!(pool.stats().totals.shed, 2);
        assert_eq!(pool.stats().totals.released, 0);
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn an_allocate_in_flight_finishes_and_its_guard_is_returned() {
    bounded(LIMIT, || {
        let (pool, tracker, [a]) = pool_of_max(1, SlowToAllocate::new);
        let poller = Poller::new();
        let mut get = pin!(a.get());
        assert!(
            poller.poll(get.as_mut()).is_pending(),
            "allocate is pending"
        );
        pool.close();
        let Poll::Ready(Ok(guard)) = poller.poll(get.as_mut()) else {
            panic!("the allocate in flight did not return its guard");
        };
        assert_eq!(tracker.live(), 1);
        drop(guard);
        assert_eq!(tracker.releases(), 1, "its put did not release it");
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_get_waiting_for_the_hold_fails_with_closed() {
    bounded(LIMIT, || {
        let (pool, tracker, [a]) = pool_of_max(1, Counting::new);
        let guard = block_on(a.get()).unwrap();
        let poller = Poller::new();
        let mut waiting = pin!(a.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        assert_eq!(pool.stats().waiting, 1);
        pool.close();
        assert!(poller.wakes() > 0, "the close did not wake the hold waiter");
        assert!(matches!(
            poller.poll(waiting.as_mut()),
            Poll::Ready(Err(Error::Closed))
        ));
        assert_eq!(pool.stats().waiting, 0);
        drop(guard);
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_get_handed_the_hold_with_its_item_before_the_close_still_fails_with_closed() {
    bounded(LIMIT, || {
        let (pool, tracker, [a]) = pool_of_max(1, Counting::new);
        let guard = block_on(a.get()).unwrap();
        let poller = Poller::new();
        let mut waiting = pin!(a.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        drop(guard); // the hold, with the item, goes to the waiting get
        pool.close();
        assert!(matches!(
            poller.poll(waiting.as_mut()),
            Poll::Ready(Err(Error::Closed))
        ));
        assert_eq!(tracker.releases(), 1, "the item it was handed is not shed");
        assert_eq!(pool.stats().waiting, 0);
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_panicking_release_in_the_close_leaves_no_grant_or_idle_item_behind() {
    bounded(LIMIT, || {
        let panics = ReleasePanic::new();
        let pool = Pool::builder(3).handoff_after(Duration::ZERO).build();
        let tracker = Tracker::new(3);
        let manager = PanicOnRelease::sharing(&panics);
        let [a, b, c, d, e] = [0, 1, 2, 3, 4].map(|key| pool.create(manager(key, &tracker)));
        let (held_a, held_b) = (block_on(a.get()).unwrap(), block_on(b.get()).unwrap());
        let held_e = block_on(e.get()).unwrap();
        let (c_poller, d_poller) = (Poller::new(), Poller::new());
        let mut c_get = pin!(c.get());
        let mut d_get = pin!(d.get());
        assert!(c_poller.poll(c_get.as_mut()).is_pending());
        assert!(d_poller.poll(d_get.as_mut()).is_pending());
        drop(held_a); // handed to c's get
        drop(held_b); // handed to d's get
        drop(held_e); // nobody left to hand it to: idle
        assert!(e.is_allocated());
        panics.next();
        let closed = std::panic::catch_unwind(|| pool.close());
        let payload = closed.expect_err("the release's panic goes on");
        let message = payload.downcast_ref::<String>().map(String::as_str);
        assert_eq!(message, Some(RELEASE_PANIC));
        assert_eq!(tracker.releases(), 3, "the close stopped at the panic");
        assert!(!e.is_allocated(), "the idle item was not shed");
        for (poller, get) in [(&c_poller, c_get.as_mut()), (&d_poller, d_get.as_mut())] {
            assert!(matches!(poller.poll(get), Poll::Ready(Err(Error::Closed))));
        }
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_get_waiting_for_capacity_fails_with_closed() {
    bounded(LIMIT, || {
        let (pool, tracker, [a, b]) = pool_of_max(1, Counting::new);
        let guard = block_on(a.get()).unwrap();
        let poller = Poller::new();
        let mut waiting = pin!(b.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        pool.close();
        assert!(
            poller.wakes() > 0,
            "the close did not wake the capacity waiter"
        );
        assert!(matches!(
            poller.poll(waiting.as_mut()),
            Poll::Ready(Err(Error::Closed))
        ));
        drop(guard);
        assert_eq!(tracker.allocations(), 1);
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn an_item_handed_to_a_waiter_is_released_when_the_close_fails_it() {
    bounded(LIMIT, || {
        let pool = Pool::builder(1).handoff_after(Duration::ZERO).build();
        let tracker = Tracker::new(1);
        let [a, b] = [0, 1].map(|key| pool.create(Counting::new(key, &tracker)));
        let guard = block_on(a.get()).unwrap();
        let poller = Poller::new();
        let mut waiting = pin!(b.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        drop(guard); // handed to b's get, which has not run yet
        assert_eq!(pool.stats().totals.handoffs, 1);
        pool.close();
        assert_eq!(tracker.releases(), 1, "the handed item was not released");
        assert!(matches!(
            poller.poll(waiting.as_mut()),
            Poll::Ready(Err(Error::Closed))
        ));
        assert_eq!(tracker.allocations(), 1, "the failed get allocated");
        let totals = pool.stats().totals;
        assert_eq!((totals.handoffs, totals.shed), (1, 0), "counted once");
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn drained_resolves_at_once_when_nothing_is_live_and_waits_for_the_last_put() {
    bounded(LIMIT, || {
        let (pool, tracker, [a]) = pool_of_max(1, Counting::new);
        block_on(pool.drained());
        let guard = block_on(a.get()).unwrap();
        pool.close();
        let poller = Poller::new();
        let mut drained = pin!(pool.drained());
        assert!(poller.poll(drained.as_mut()).is_pending());
        drop(guard);
        assert!(poller.wakes() > 0, "the last put did not wake drained");
        assert!(poller.poll(drained.as_mut()).is_ready());
        assert_drained(&pool, &tracker);
    });
}

/// Tasks loop get, use, and put or release, until the pool closes under
/// them; then every item is released exactly once and `drained` resolves.
fn close_under_load(runner: Runner) {
    const MAX: usize = 4;
    const RESOURCES: usize = 12;
    let pool = Pool::new(MAX);
    let tracker = Tracker::new(MAX);
    let resources: Vec<_> = (0..RESOURCES)
        .map(|key| pool.create(Counting::new(key, &tracker)))
        .collect();
    let cycles = Arc::new(AtomicUsize::new(0));
    let closer = {
        let (pool, cycles) = (pool.clone(), cycles.clone());
        std::thread::spawn(move || {
            while cycles.load(Ordering::SeqCst) < 2_000 {
                std::thread::yield_now();
            }
            pool.close();
        })
    };
    let task_cycles = cycles.clone();
    runner.run_each(LIMIT, resources.clone(), move |resource, runner| {
        let cycles = task_cycles.clone();
        async move {
            for round in 0usize.. {
                match runner.get(&resource).await {
                    Ok(guard) => {
                        cycles.fetch_add(1, Ordering::SeqCst);
                        runner.yield_now().await;
                        if round % 5 == 0 {
                            guard.release().unwrap();
                        } else {
                            drop(guard);
                        }
                    }
                    Err(Error::Closed) => return,
                    Err(error) => panic!("unexpected {error:?}"),
                }
            }
        }
    });
    closer.join().unwrap();
    tracker.assert_never_exceeded();
    assert_drained(&pool, &tracker);
    let totals = pool.stats().totals;
    assert_eq!(
        totals.allocations,
        totals.evictions + totals.handoffs + totals.released + totals.shed,
        "{totals:?}"
    );
}

#[test]
fn a_close_under_load_on_tokio_releases_every_item_once() {
    close_under_load(Runner::Tokio);
}

#[test]
fn a_close_under_load_on_smol_releases_every_item_once() {
    close_under_load(Runner::Smol);
}

#[test]
fn a_close_under_load_on_async_std_releases_every_item_once() {
    close_under_load(Runner::AsyncStd);
}

#[test]
fn a_close_under_load_on_threads_releases_every_item_once() {
    close_under_load(Runner::Threads);
}
