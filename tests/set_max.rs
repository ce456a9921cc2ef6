//! `Pool::set_max`: growing frees charges at once, to the waiting gets first;
//! shrinking releases idle items least recently used first, then each excess
//! item at its put, and no allocation starts while the live items exceed the
//! new limit.

mod common;

use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use common::{assert_quiescent, bounded, Counting, Poller, Runner, Tracker, LIMIT};
use futures_lite::future::block_on;
use resourcepool::{Error, Pool, Resource};

/// A pool, its tracker, its resources, and the log of the keys released.
type Logged = (
    Pool,
    Arc<Tracker>,
    Vec<Resource<Counting>>,
    Arc<Mutex<Vec<usize>>>,
);

/// A pool of `max`, and `count` resources whose managers log the keys they
/// release.
fn logged(max: usize, count: usize) -> Logged {
    let pool = Pool::new(max);
    // The tracker checks live items against the largest limit used here.
    let tracker = Tracker::new(max.max(4));
    let log = Arc::new(Mutex::new(Vec::new()));
    let resources = (0..count)
        .map(|key| pool.create(Counting::new(key, &tracker).logging(&log)))
        .collect();
    (pool, tracker, resources, log)
}

#[test]
fn growing_serves_the_waiting_gets_in_order() {
    bounded(LIMIT, || {
        let (pool, tracker, resources, _) = logged(1, 3);
        let held = block_on(resources[0].get()).unwrap();
        let (b_poller, c_poller) = (Poller::new(), Poller::new());
        let mut b = pin!(resources[1].get());
        let mut c = pin!(resources[2].get());
        assert!(b_poller.poll(b.as_mut()).is_pending());
        assert!(c_poller.poll(c.as_mut()).is_pending());
        pool.set_max(2);
        assert_eq!(pool.max(), 2);
        assert!(b_poller.wakes() > 0, "growing woke nobody");
        assert_eq!(c_poller.wakes(), 0, "the later waiter came first");
        let Poll::Ready(Ok(b_guard)) = b_poller.poll(b.as_mut()) else {
            panic!("the first waiter did not get the new charge");
        };
        assert!(c_poller.poll(c.as_mut()).is_pending());
        pool.set_max(3);
        let Poll::Ready(Ok(c_guard)) = c_poller.poll_woken(c.as_mut()) else {
            panic!("the second waiter did not get the next charge");
        };
        assert_eq!(tracker.allocations(), 3);
        drop((held, b_guard, c_guard));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn shrinking_releases_idle_items_least_recently_used_first() {
    bounded(LIMIT, || {
        let (pool, tracker, resources, log) = logged(3, 3);
        for resource in &resources {
            drop(block_on(resource.get()).unwrap());
        }
        pool.set_max(1);
        assert_eq!(
            *log.lock().unwrap(),
            [0, 1],
            "not least recently used first"
        );
        assert!(resources[2].is_allocated());
        let stats = pool.stats();
        assert_eq!((stats.max, stats.idle, stats.totals.shed), (1, 1, 2));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn shrinking_below_the_items_in_use_releases_them_at_their_put_and_allocates_nothing_meanwhile() {
    bounded(LIMIT, || {
        let (pool, tracker, resources, log) = logged(3, 4);
        let mut guards: Vec<_> = resources[..3]
            .iter()
            .map(|resource| block_on(resource.get()).unwrap())
            .collect();
        pool.set_max(1);
        assert_eq!(pool.max(), 1);
        assert!(
            log.lock().unwrap().is_empty(),
            "an item in use was released"
        );
        let stats = pool.stats();
        assert!(stats.in_use + stats.idle <= 3, "{stats:?}");
        assert!(
            matches!(
                block_on(resources[3].try_get()),
                Err(Error::ResourceLimitExceeded)
            ),
            "an allocation started while the items exceed max"
        );
        let last = guards.pop().unwrap();
        drop(guards); // two puts: both over the limit, both released
        assert_eq!(*log.lock().unwrap(), [0, 1]);
        drop(last); // fits: stays idle
        assert!(resources[2].is_allocated());
        assert_eq!(pool.stats().totals.shed, 2);
        // Now a get evicts as usual.
        let guard = block_on(resources[3].try_get()).expect("evicts the idle item");
        assert!(!resources[2].is_allocated());
        drop(guard);
        assert_eq!(tracker.allocations(), 4);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_get_waiting_while_the_pool_is_over_its_new_max_is_served_once_it_fits() {
    bounded(LIMIT, || {
        let (pool, tracker, resources, _) = logged(2, 3);
        let a = block_on(resources[0].get()).unwrap();
        let b = block_on(resources[1].get()).unwrap();
        pool.set_max(1);
        let poller = Poller::new();
        let mut waiting = pin!(resources[2].get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        drop(a); // released: one live item left, which fills max 1
        assert!(poller.poll_woken(waiting.as_mut()).is_pending());
        drop(b); // idle now: the waiter evicts it
        let Poll::Ready(Ok(guard)) = poller.poll_woken(waiting.as_mut()) else {
            panic!("the waiter was not served once the items fit");
        };
        drop(guard);
        assert_eq!(tracker.allocations(), 3);
        assert_eq!(pool.stats().idle, 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
#[should_panic(expected = "max must be at least 1")]
fn set_max_zero_panics_with_a_clear_message() {
    Pool::new(1).set_max(0);
}

#[test]
#[should_panic(expected = "max must be at most")]
fn set_max_too_large_panics_with_a_clear_message() {
    Pool::new(1).set_max(usize::MAX);
}

#[test]
fn set_max_after_close_changes_nothing() {
    let pool = Pool::new(2);
    pool.close();
    pool.set_max(5);
    assert_eq!(pool.max(), 2);
}

/// Gets, puts and releases run while another thread grows and shrinks the
/// pool in quick succession: nothing underflows or panics, live items never
/// exceed the largest limit, and at the end the pool is whole.
fn resize_under_load(runner: Runner) {
    const LARGEST: usize = 8;
    let pool = Pool::new(LARGEST);
    let tracker = Tracker::new(LARGEST);
    let resources: Vec<_> = (0..16)
        .map(|key| pool.create(Counting::new(key, &tracker)))
        .collect();
    let resizer = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            for round in 0..2_000 {
                pool.set_max(1 + round % LARGEST);
                std::thread::yield_now();
            }
            pool.set_max(4);
        })
    };
    runner.run_each(LIMIT, resources.clone(), |resource, runner| async move {
        for round in 0..300usize {
            let guard = runner.get(&resource).await.expect("allocate never fails");
            runner.yield_now().await;
            if round % 7 == 0 {
                guard.release().unwrap();
            } else {
                drop(guard);
            }
        }
    });
    resizer.join().unwrap();
    tracker.assert_never_exceeded();
    assert_quiescent(&pool, &tracker);
    let stats = pool.stats();
    assert_eq!(stats.max, 4);
    assert!(stats.idle <= 4, "{stats:?}");
    drop(resources);
    assert_eq!(tracker.live(), 0);
    assert_eq!(tracker.releases(), tracker.allocations());
}

#[test]
fn resizing_under_load_on_tokio_loses_nothing() {
    resize_under_load(Runner::Tokio);
}

#[test]
fn resizing_under_load_on_threads_loses_nothing() {
    resize_under_load(Runner::Threads);
}

#[test]
fn shrinking_takes_back_a_charge_granted_to_a_waiter() {
    bounded(LIMIT, || {
        let (pool, tracker, resources, _) = logged(3, 4);
        let a = block_on(resources[0].get()).unwrap();
        let b = block_on(resources[1].get()).unwrap();
        let c = block_on(resources[2].get()).unwrap();
        let poller = Poller::new();
        let mut waiting = pin!(resources[3].get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        a.release().unwrap(); // its charge is granted to the waiter
        pool.set_max(1);
        assert!(
            poller.poll_woken(waiting.as_mut()).is_pending(),
            "the waiter allocated with a grant while the items exceed the new max"
        );
        assert_eq!(tracker.live(), 2);
        drop(b); // shed: one live item left, which fills max 1
        assert!(poller.poll_woken(waiting.as_mut()).is_pending());
        drop(c); // idle now: the waiter evicts it
        let Poll::Ready(Ok(guard)) = poller.poll_woken(waiting.as_mut()) else {
            panic!("the waiter was not served once the items fit");
        };
        drop(guard);
        assert_eq!(tracker.allocations(), 4);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn resizing_under_load_on_smol_loses_nothing() {
    resize_under_load(Runner::Smol);
}

#[test]
fn resizing_under_load_on_async_std_loses_nothing() {
    resize_under_load(Runner::AsyncStd);
}
